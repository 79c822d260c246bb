"""Contacts, orders and intake requests: normalisation, ownership, hostile form fields."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from helpdesk_core.domain import (
    Channel,
    Contact,
    EntityKind,
    EntityRef,
    Order,
    StaffVia,
    WebFormSubmission,
    normalize_email,
    normalize_phone,
)
from helpdesk_core.errors import DomainError, OrderNotOwned, ValidationError

FAST = settings(max_examples=100, deadline=None)
E164 = re.compile(r"\+[1-9]\d{5,14}")

# -- e-mail ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Jana.Novak@Example.CZ ", "jana.novak@example.cz"),
        ("JÁNA@example.cz", "jána@example.cz"),
        ("jana@ŽLUŤOUČKÝ.cz", "jana@žluťoučký.cz"),
        ("Hans.Mueller+support@Beispiel.DE", "hans.mueller+support@beispiel.de"),
    ],
)
def test_normalize_email(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "no-at", "a@b", "a@@b.cz", "a b@c.cz", "x" * 300 + "@a.cz", "a@b.cz\r\nBcc: x@y.cz",
     "<a@b.cz>", "Jana <a@b.cz>", None, 42, b"a@b.cz"],
)
def test_invalid_emails_are_validation_errors(raw):
    with pytest.raises(ValidationError) as info:
        normalize_email(raw, field="customer_email")
    assert info.value.field == "customer_email"


@FAST
@given(raw=st.text(max_size=80) | st.emails())
def test_normalize_email_refuses_or_returns_a_canonical_address(raw):
    try:
        result = normalize_email(raw)
    except ValidationError:
        return
    assert result.count("@") == 1
    assert not any(ch.isspace() for ch in result)
    assert result == result.casefold()
    assert normalize_email(result) == result


# -- phone -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+420 601 234 567", "CZ", "+420601234567"),
        ("601 234 567", "CZ", "+420601234567"),
        ("00420601234567", "CZ", "+420601234567"),
        ("+421 905 123 456", "CZ", "+421905123456"),
        ("0905 123 456", "SK", "+421905123456"),
        ("+49 30 1234567", "CZ", "+49301234567"),
        ("030 1234567", "DE", "+49301234567"),
        ("0049 (30) 123-4567", "CZ", "+49301234567"),
        ("+43 1 5123456", None, "+4315123456"),
    ],
)
def test_normalize_phone(raw, region, expected):
    assert normalize_phone(raw, region=region) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "hello", "123", "+", "+420 1", "+999 123456789", "1" * 65, "+420 000 000 000",
     "111 111 111", "+310000000", "+81000000000000000", None, 420601234567],
)
def test_garbage_phone_numbers_are_validation_errors(raw):
    with pytest.raises(ValidationError) as info:
        normalize_phone(raw, field="customer_phone")
    assert info.value.field == "customer_phone"


def test_a_local_number_without_a_region_is_refused():
    with pytest.raises(ValidationError):
        normalize_phone("601 234 567", region=None)


@FAST
@given(raw=st.text(max_size=70) | st.from_regex(r"\+?[0-9 ()-]{3,20}", fullmatch=True))
@example(raw="+4930000000000000")  # valid in the plan's metadata, but 16 digits
def test_normalize_phone_refuses_or_returns_e164(raw):
    try:
        result = normalize_phone(raw)
    except ValidationError:
        return
    assert E164.fullmatch(result), result
    assert normalize_phone(result) == result


# -- contacts and orders -----------------------------------------------------------------------


def test_contact_create_normalises_addresses_and_numbers():
    contact = Contact.create(name="  Jana\tNovák ", email="Jana@Example.CZ",
                             phone="601 234 567")
    assert contact.name == "Jana Novák"
    assert contact.emails == ("jana@example.cz",)
    assert contact.email == "jana@example.cz"
    assert contact.phones == ("+420601234567",)
    assert Contact(id="c", name="", emails=["A@x.cz", "a@X.cz", "b@x.cz"]).emails == (
        "a@x.cz", "b@x.cz"
    )
    with pytest.raises(ValidationError):
        Contact.create(name="x", email="not-an-address")


SHOP_ORDER = EntityRef(EntityKind.ORDER, "eshop", "2026-00042")


def test_order_belongs_to_its_customer_by_id():
    order = Order(ref=SHOP_ORDER, number="2026-00042", customer_id="c1",
                  customer_email="jana@example.cz")
    order.ensure_belongs_to(customer_id="c1", email=None)
    order.ensure_belongs_to(customer_id="c1", email="someone.else@example.cz")
    with pytest.raises(OrderNotOwned) as info:
        order.ensure_belongs_to(customer_id="c2", email="petr@example.cz")
    assert info.value.order_number == "2026-00042"


def test_guest_order_belongs_to_its_email_case_insensitively():
    guest = Order(ref=SHOP_ORDER, number="2026-00042", customer_email="Jana.Novak@Example.cz")
    guest.ensure_belongs_to(customer_id=None, email="jana.novak@EXAMPLE.CZ")
    guest.ensure_belongs_to(customer_id="new-contact", email=" JANA.NOVAK@example.cz ")
    with pytest.raises(OrderNotOwned):
        guest.ensure_belongs_to(customer_id=None, email="jana.novakova@example.cz")
    with pytest.raises(OrderNotOwned):
        guest.ensure_belongs_to(customer_id=None, email=None)
    with pytest.raises(OrderNotOwned):
        guest.ensure_belongs_to(customer_id=None, email="garbage")


def test_an_order_without_any_owner_belongs_to_nobody():
    orphan = Order(ref=SHOP_ORDER, number="1")
    with pytest.raises(OrderNotOwned):
        orphan.ensure_belongs_to(customer_id=None, email="jana@example.cz")


def test_order_not_owned_is_a_permission_error_and_a_domain_error():
    order = Order(ref=SHOP_ORDER, number="2026-00042", customer_id="c1")
    with pytest.raises(PermissionError):
        order.ensure_belongs_to(customer_id="c2", email=None)
    with pytest.raises(DomainError):
        order.ensure_belongs_to(customer_id="c2", email=None)


def test_an_order_ref_must_be_of_kind_order():
    with pytest.raises(ValidationError):
        Order(ref=EntityRef(EntityKind.INVOICE, "erp", "F-1"), number="F-1")


# -- web form ----------------------------------------------------------------------------------

VALID: dict[str, Any] = {
    "email": "Jana@Example.cz",
    "name": "Jana Nováková",
    "message": "The kettle arrived broken.\nPlease send a new one.",
}


def test_web_form_parse_cleans_fields():
    form = WebFormSubmission.parse({
        **VALID, "name": " Jana\u202e  Nováková\n", "order_number": " 2026-00042 ",
        "language": " CS ", "unknown_field": object(),
    })
    assert form.email == "jana@example.cz"
    assert form.name == "Jana Nováková"
    assert form.subject == "The kettle arrived broken."  # the first line of the message
    assert form.order_number == "2026-00042"
    assert form.language == "cs"


def test_web_form_subject_from_a_long_first_line_is_shortened():
    form = WebFormSubmission.parse({**VALID, "message": "x" * 200})
    assert form.subject == "x" * 80 + "…"


def test_web_form_optional_fields_may_be_missing_or_empty():
    form = WebFormSubmission.parse({"email": "a@example.cz", "message": "hi", "subject": "",
                                    "order_number": "", "language": "", "name": None})
    assert (form.name, form.subject, form.order_number, form.language) == ("", "hi", None, None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"message": None}, "message"),
        ({"message": 42}, "message"),
        ({"message": ""}, "message"),
        ({"message": " \x00\x01 \u2028 "}, "message"),
        ({"message": "x" * 100_001}, "message"),
        ({"message": ["a", "b"]}, "message"),
        ({"email": None}, "email"),
        ({"email": 42}, "email"),
        ({"email": "jana"}, "email"),
        ({"email": "x" * 10_000 + "@example.cz"}, "email"),
        ({"email": "a@example.cz\r\nBcc: b@example.cz"}, "email"),
        ({"name": 42}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"subject": 42}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"subject": {"$ne": ""}}, "subject"),
        ({"order_number": 42}, "order_number"),
        ({"order_number": "../../etc"}, "order_number"),
        ({"order_number": "x" * 65}, "order_number"),
        ({"order_number": "1; DROP TABLE"}, "order_number"),
        ({"order_number": "42\n"}, None),
        ({"language": "czech"}, "language"),
        ({"language": 7}, "language"),
        ({"language": "c1"}, "language"),
    ],
)
def test_web_form_hostile_fields_name_the_field(changes, field):
    fields = {**VALID, **changes}
    if field is None:  # surrounding whitespace is forgiven for order numbers
        assert WebFormSubmission.parse(fields).order_number == "42"
        return
    with pytest.raises(ValidationError) as info:
        WebFormSubmission.parse(fields)
    assert info.value.field == field


def test_web_form_without_message_names_the_message():
    with pytest.raises(ValidationError) as info:
        WebFormSubmission.parse({"email": "a@example.cz"})
    assert info.value.field == "message"


@FAST
@given(fields=st.dictionaries(
    st.sampled_from(["email", "name", "message", "subject", "order_number", "language"]),
    st.none() | st.integers() | st.text(max_size=50) | st.binary(max_size=5)
    | st.lists(st.text(max_size=3), max_size=2),
))
def test_web_form_parse_never_raises_anything_but_validation_error(fields):
    try:
        WebFormSubmission.parse(fields)
    except ValidationError as exc:
        assert exc.field in {"email", "name", "message", "subject", "order_number",  # noqa: PT017
                             "language"}


def test_staff_via_maps_onto_channels():
    assert {via: via.channel for via in StaffVia} == {
        StaffVia.PHONE: Channel.PHONE,
        StaffVia.IN_STORE: Channel.STAFF,
        StaffVia.RETURN: Channel.STAFF,
        StaffVia.OTHER: Channel.STAFF,
    }
