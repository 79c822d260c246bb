"""Contacts and organisations kept in the helpdesk's own storage (the built-in directory)."""

from __future__ import annotations

from typing import Protocol

from helpdesk_core.domain.contacts import Contact, Organisation

__all__ = ["ContactRepository", "OrganisationRepository"]


class ContactRepository(Protocol):
    def add(self, contact: Contact) -> None: ...

    def get(self, contact_id: str) -> Contact:
        """Raises ContactNotFound."""

    def update(self, contact: Contact) -> None: ...

    def find_by_email(self, email: str) -> Contact | None:
        """``email`` is already normalised (see normalize_email)."""

    def id_by_email(self, email: str) -> str | None:
        """The id of the contact ``find_by_email`` finds, without loading it."""

    def find_by_phone(self, phone: str) -> Contact | None:
        """``phone`` is already in E.164."""


class OrganisationRepository(Protocol):
    def add(self, organisation: Organisation) -> None: ...

    def get(self, organisation_id: str) -> Organisation | None: ...
