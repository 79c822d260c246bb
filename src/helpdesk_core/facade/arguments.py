"""Every argument of a facade method is checked against the method's annotations before
anything else runs: a value of the wrong type is a :class:`ValidationError` naming the
parameter, never an ``AttributeError`` or ``TypeError`` from deep inside, and nothing is
read or written.

The annotations are the contract the API reference shows, so they are what is enforced:
``str`` takes text only, ``int`` a whole number (no bool), ``bool`` true or false only,
``datetime`` a datetime, ``Sequence[str]`` a list or tuple of text (a bare string is no
list of addresses), ``Mapping`` a mapping, a class an instance of it, a port (a
``Protocol``) anything that has its methods. Text anywhere in an argument (in a list, a
mapping, a value object) must be encodable: a lone surrogate is refused. Beyond that, what
the text says (an unknown ticket, a bad address) is for the rules further in.

``**details`` are checked against the keywords of the service method they are handed to
(:func:`check_details`): an unknown one is refused too.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs

from helpdesk_core.errors import ValidationError

__all__ = ["check_details", "checked", "in_range"]

T = TypeVar("T")

_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Iterable,
              collections.abc.Collection)
_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
          bytes: "bytes", datetime: "a timezone-aware datetime", type(None): "none"}


def checked(cls: type[T]) -> type[T]:
    """Class decorator for a facade section: every public method checks its arguments."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(cls, name, _checking(member))
    return cls


def check_details(details: Mapping[str, object], service: Callable[..., Any]) -> None:
    """``details`` (a method's ``**details``) against the keywords of ``service``, the method
    they are passed on to."""
    hints = _hints(service)
    for name, value in details.items():
        if name not in hints:
            raise ValidationError(f"is no detail this takes (known: {', '.join(sorted(hints))})",
                                  field=name)
        check(name, hints[name], value)


def check(name: str, hint: Any, value: object) -> None:
    """Raise ValidationError unless ``value`` is of the type ``hint`` annotates and all the
    text in it can be encoded."""
    if not conforms(hint, value):
        raise ValidationError(f"must be {describe(hint)}, not {type(value).__name__}",
                              field=name)
    encodable(name, value)


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


def in_range(value: int, *, field: str, most: int) -> int:
    """A count (a limit) from 0 to ``most``: a negative one or one no database can hold
    is refused, not handed to the storage."""
    if not 0 <= value <= most:
        raise ValidationError(f"must be from 0 to {most}", field=field)
    return value


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


def _checking(function: Callable[..., T]) -> Callable[..., T]:
    signature = inspect.signature(function)
    resolved: dict[str, Any] = {}

    @functools.wraps(function)
    def method(*args: Any, **kwargs: Any) -> T:
        if not resolved:  # on first use: the annotations name classes defined after this
            resolved.update(_hints(function))
        bound = signature.bind(*args, **kwargs)  # a call of the wrong shape stays a TypeError
        for name, value in bound.arguments.items():
            parameter = signature.parameters[name]
            if name not in resolved or parameter.kind is parameter.VAR_KEYWORD:
                continue  # self, and **details (checked against their service)
            if parameter.kind is parameter.VAR_POSITIONAL:
                for item in value:
                    check(name, resolved[name], item)
            else:
                check(name, resolved[name], value)
        return function(*args, **kwargs)

    return method


def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(function)
    hints.pop("return", None)
    return hints


def _protocol_members(protocol: type) -> list[str]:
    names = {*vars(protocol), *getattr(protocol, "__annotations__", {})}
    return sorted(n for n in names if not n.startswith("_"))
