"""Customers as the helpdesk sees them: contacts, organisations, and the host's orders/products.

A host that has its own customer database serves these values through the ``Directory`` port;
a host without one uses the library's built-in contact store. Either way the core works with
these frozen values, never with the host's records.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime

import attrs
import email_validator
import phonenumbers

from helpdesk_core.domain.values import (
    EntityKind,
    EntityRef,
    name_line,
    new_id,
    optional_language,
    optional_name_line,
)
from helpdesk_core.errors import OrderNotOwned, ValidationError

__all__ = [
    "Contact",
    "Order",
    "Organisation",
    "Product",
    "normalize_email",
    "normalize_phone",
]


def normalize_email(value: object, *, field: str = "email") -> str:
    """Syntax-check an address (no DNS) and return its canonical form for matching.

    The domain part is lower-cased and IDNA-normalised by email-validator; the local part is
    lower-cased too, because in practice no mailbox provider our customers use distinguishes
    ``Jana.Novak`` from ``jana.novak`` and a missed match creates a duplicate contact.
    """
    if not isinstance(value, str):
        raise ValidationError("must be text", field=field)
    normalized, problem = _validated(value.strip())
    if normalized is None:
        raise ValidationError(problem, field=field) from None
    return normalized


@functools.lru_cache(maxsize=4096)
def _validated(value: str) -> tuple[str | None, str]:
    """Validation is costly and mail repeats the same senders: answers are remembered."""
    try:
        result = email_validator.validate_email(
            value, check_deliverability=False, allow_smtputf8=True, allow_quoted_local=True
        )
    except email_validator.EmailNotValidError as exc:
        return None, str(exc)
    return result.normalized.casefold(), ""


def normalize_phone(value: object, *, region: str | None = "CZ", field: str = "phone") -> str:
    """Parse a phone number and return it in E.164 (``+420601234567``).

    Only numbers valid in their country's numbering plan are accepted: a merely "possible"
    number such as ``+310000000`` has no stable E.164 form (it re-normalises to a different
    string), so lookups by the stored value would miss and duplicate the contact.
    """
    if not isinstance(value, str) or len(value) > 64:
        raise ValidationError("must be a phone number", field=field)
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"not a phone number: {exc}", field=field) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("not a valid phone number", field=field)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if len(e164) > 16:  # E.164 allows 15 digits; the metadata of a few plans allows more
        raise ValidationError("longer than E.164 allows (15 digits)", field=field)
    return e164


def _emails(values: Iterable[str]) -> tuple[str, ...]:
    """Normalised, without duplicates, first one first (the primary address)."""
    return tuple(dict.fromkeys(normalize_email(v) for v in values))


def _phones(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(normalize_phone(v, region=None) for v in values))


@attrs.frozen
class Organisation:
    id: str
    name: str = attrs.field(converter=name_line)
    account_owner: str | None = None

    @classmethod
    def create(cls, name: str, *, account_owner: str | None = None) -> Organisation:
        return cls(new_id(), name, account_owner)


@attrs.frozen
class Contact:
    """A person who writes to the helpdesk. ``emails``, ``phones`` and ``language`` (a
    language code such as ``cs`` or ``pt-BR``, or None) are normalised; invalid ones are
    refused with a ValidationError."""

    id: str
    name: str = attrs.field(converter=optional_name_line)
    emails: tuple[str, ...] = attrs.field(default=(), converter=_emails)
    phones: tuple[str, ...] = attrs.field(default=(), converter=_phones)
    organisation_id: str | None = None
    language: str | None = attrs.field(default=None, converter=optional_language)
    account_owner: str | None = None

    @classmethod
    def create(
        cls,
        *,
        name: str,
        email: str | None = None,
        phone: str | None = None,
        organisation_id: str | None = None,
        language: str | None = None,
        account_owner: str | None = None,
    ) -> Contact:
        return cls(
            id=new_id(),
            name=name,
            emails=(email,) if email else (),
            phones=(normalize_phone(phone),) if phone else (),
            organisation_id=organisation_id,
            language=language,
            account_owner=account_owner,
        )

    @property
    def email(self) -> str | None:
        """The primary address."""
        return self.emails[0] if self.emails else None


@attrs.frozen
class Order:
    """An order as the host's Directory reports it.

    ``customer_email`` covers guest checkouts, where the host has an address but no account.
    """

    ref: EntityRef
    number: str
    customer_id: str | None = None
    customer_email: str | None = None
    placed_at: datetime | None = None
    summary: str = ""

    def __attrs_post_init__(self) -> None:
        if self.ref.kind is not EntityKind.ORDER:
            raise ValidationError("an order's ref must be of kind order", field="order.ref")

    def belongs_to(self, *, customer_id: str | None, email: str | None) -> bool:
        if customer_id is not None and self.customer_id == customer_id:
            return True
        if email is not None and self.customer_email is not None:
            try:
                return normalize_email(self.customer_email) == normalize_email(email)
            except ValidationError:
                return False
        return False

    def ensure_belongs_to(self, *, customer_id: str | None, email: str | None) -> None:
        """Refuse a request that names someone else's order."""
        if not self.belongs_to(customer_id=customer_id, email=email):
            raise OrderNotOwned(self.number)


@attrs.frozen
class Product:
    ref: EntityRef
    sku: str
    name: str
