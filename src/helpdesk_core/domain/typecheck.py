"""Values checked against their annotations: the rules behind the facade's argument checks
and the value objects' field checks.

``str`` takes text only, ``int`` a whole number (no bool), ``bool`` true or false only,
``datetime`` a datetime, ``Sequence[str]`` a list or tuple of text (a bare string is no list),
``Mapping`` a mapping, a class an instance of it, a port (a ``Protocol``) anything that has its
methods. Text anywhere in a value (in a list, a mapping, a value object) must be encodable: a
lone surrogate is refused.
"""

from __future__ import annotations

import collections.abc
import re
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

if typing.TYPE_CHECKING:
    from attrs import AttrsInstance

from helpdesk_core.errors import ValidationError

__all__ = ["check", "check_fields", "conforms", "describe", "encodable"]

_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Iterable,
              collections.abc.Collection)
_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
          bytes: "bytes", datetime: "a timezone-aware datetime", type(None): "none"}


def check(name: str, hint: Any, value: object) -> None:
    """Raise ValidationError unless ``value`` is of the type ``hint`` annotates and all the
    text in it can be encoded."""
    if not conforms(hint, value):
        raise ValidationError(f"must be {describe(hint)}, not {type(value).__name__}",
                              field=name)
    encodable(name, value)


def check_fields(instance: AttrsInstance, *, prefix: str) -> None:
    """Every field of the attrs ``instance`` against its annotation: called by a value
    object's ``__attrs_post_init__`` so that a wrong type is a ValidationError naming the
    field (``attachment.size``), not a TypeError from a comparison further in."""
    cls = type(instance)
    hints = _field_hints(cls)
    for field in attrs.fields(cls):
        check(f"{prefix}.{field.name}", hints.get(field.name, Any),
              getattr(instance, field.name))


_FIELD_HINTS: dict[type, dict[str, Any]] = {}


def _field_hints(cls: type) -> dict[str, Any]:
    if cls not in _FIELD_HINTS:  # resolved on first use: annotations are strings
        _FIELD_HINTS[cls] = typing.get_type_hints(cls)
    return _FIELD_HINTS[cls]


_SURROGATE = re.compile("[\ud800-\udfff]")


def encodable(name: str, value: object, depth: int = 0) -> None:
    """Refuse a lone surrogate (half of a UTF-16 pair, which no encoder and no database takes)
    anywhere in ``value``: in text, in a list, a mapping or a value object's fields."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise ValidationError("contains a lone surrogate, which is not text", field=name)
    elif depth > 4:
        return
    elif isinstance(value, Mapping):  # an entry is named by its key, as a form's fields are
        for key, item in value.items():
            encodable(name, key, depth + 1)
            encodable(key if isinstance(key, str) else name, item, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            encodable(name, item, depth + 1)
    elif attrs.has(cls := type(value)):
        for field in attrs.fields(cls):
            encodable(f"{name}.{field.name}", getattr(value, field.name), depth + 1)


def conforms(hint: Any, value: object) -> bool:
    if hint is Any or hint is object:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(a, value) for a in args)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin in _SEQUENCES:
        if isinstance(value, str | bytes | bytearray | Mapping) or not isinstance(value, origin):
            return False
        if not isinstance(value, collections.abc.Collection):
            return True  # a one-shot iterator is not consumed here; the rules check each item
        return not args or all(conforms(args[0], item) for item in value)
    if origin in (dict, collections.abc.Mapping):
        return isinstance(value, Mapping) and (not args or all(
            conforms(args[0], k) and conforms(args[1], v) for k, v in value.items()))
    if origin is not None:
        return isinstance(value, origin)
    if getattr(hint, "_is_protocol", False):
        return all(hasattr(value, member) for member in _protocol_members(hint))
    return isinstance(value, hint)


def describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(a) for a in args)
    if origin in _SEQUENCES:
        return f"a list of {describe(args[0])}" if args else "a list"
    if origin in (dict, collections.abc.Mapping):
        return "a mapping"
    if hint in _NAMES:
        return _NAMES[hint]
    name = getattr(hint, "__name__", str(hint))
    return f"{'an' if name[:1] in 'AEIOU' else 'a'} {name}"


def _protocol_members(protocol: type) -> list[str]:
    names = {*vars(protocol), *getattr(protocol, "__annotations__", {})}
    return sorted(n for n in names if not n.startswith("_"))
