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

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from helpdesk_core.domain.typecheck import check
from helpdesk_core.errors import ValidationError

__all__ = ["check_details", "checked", "in_range"]

T = TypeVar("T")


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


def in_range(value: int, *, field: str, most: int) -> int:
    """A count (a limit) from 0 to ``most``: a negative one or one no database can hold
    is refused, not handed to the storage."""
    if not 0 <= value <= most:
        raise ValidationError(f"must be from 0 to {most}", field=field)
    return value


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
