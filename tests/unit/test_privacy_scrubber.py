"""The scrubber: what a stored text becomes once one contact's data is replaced."""

from __future__ import annotations

from datetime import UTC, datetime

from helpdesk_core.domain.contacts import Contact
from helpdesk_core.domain.privacy import (
    ERASED,
    PersonalDataExport,
    Scrubber,
    erased_name,
    is_erased,
)

JANA = Contact(id="c-jana", name="Jana Nováková", emails=("Jana.Novakova@Example.cz",),
               phones=("+420 601 234 567",))
SCRUB = Scrubber.for_contact(JANA)


def test_addresses_names_and_numbers_are_replaced_in_any_case_and_format() -> None:
    text = ("From: JANA NOVÁKOVÁ <jana.novakova@example.CZ>; call +420 601 234 567, "
            "601234567, 00420601234567 or +420-601-234-567. Jana")
    scrubbed = SCRUB.text(text)
    for gone in ("Jana", "JANA", "Nov", "novakova", "601", "234 567"):
        assert gone not in scrubbed
    assert SCRUB.email in scrubbed
    assert scrubbed.count(ERASED) == 4


def test_only_whole_words_and_whole_numbers() -> None:
    assert SCRUB.text("Janas and Banana") == "Janas and Banana"
    assert SCRUB.text("order 16012345678") == "order 16012345678"


def test_scrubbing_twice_changes_nothing_more() -> None:
    once = SCRUB.value({"to": ["jana.novakova@example.cz"], "Jana": ("Nováková", 3)})
    assert once == {"to": [SCRUB.email], SCRUB.name: (SCRUB.name, 3)}
    assert SCRUB.value(once) == once


def test_the_erased_contact() -> None:
    erased = SCRUB.contact(JANA)
    assert erased.name == erased_name("c-jana") != "c-jana"
    assert is_erased(erased)
    assert not is_erased(JANA)


def test_an_export_is_json_with_iso_times_and_a_zip() -> None:
    export = PersonalDataExport(contact=JANA, exported_at=datetime(2026, 3, 2, tzinfo=UTC))
    assert '"exported_at": "2026-03-02T00:00:00+00:00"' in export.to_json()
    assert export.zip_bytes().startswith(b"PK")
