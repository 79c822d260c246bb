"""Value objects a host builds and hands to the facade check their fields' types when they
are made: a wrong type is a typed error that names the field, not a TypeError or an
AttributeError later, inside a service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from helpdesk_core.domain.article import AttachmentMeta
from helpdesk_core.domain.incident_types import IncidentType
from helpdesk_core.errors import ConfigurationError, ValidationError
from helpdesk_core.mail.policy import MailChannel
from helpdesk_core.ports.messaging import CallEvent
from helpdesk_core.services.outbox import DispatchPolicy

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EVENT = {"provider_call_id": "c-1", "kind": "ringing", "direction": "inbound",
         "from_number": "+420601234567", "to_number": None, "at": AT}


@pytest.mark.parametrize(("make", "field"), [
    (lambda: AttachmentMeta("k", "a.pdf", size=None), "attachment.size"),
    (lambda: AttachmentMeta("k", "a.pdf", size="12"), "attachment.size"),
    (lambda: AttachmentMeta("k", "a.pdf", content_type=None), "attachment.content_type"),
    (lambda: AttachmentMeta("k", "a.pdf", inline="yes"), "attachment.inline"),
    (lambda: AttachmentMeta(7, "a.pdf"), "attachment.blob_key"),
    (lambda: AttachmentMeta("k", "a.pdf", content_id="\ud800"), "attachment.content_id"),
    (lambda: CallEvent(**{**EVENT, "at": "2026-03-02"}), "event.at"),
    (lambda: CallEvent(**{**EVENT, "kind": None}), "event.kind"),
    (lambda: CallEvent(**{**EVENT, "from_number": 601234567}), "event.from_number"),
    (lambda: IncidentType("complaint", "Complaint", responsible=["eva"]),
     "incident_type.responsible"),
])
def test_a_field_of_the_wrong_type_is_refused_by_name(make: Any, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        make()
    assert refused.value.field == field


@pytest.mark.parametrize("settings", [
    {"batch": 0}, {"batch": "50"}, {"max_attempts": 0}, {"max_attempts": None},
    {"lease": timedelta(0)}, {"lease": 300}, {"backoff": timedelta(minutes=-1)},
    {"backoff": timedelta(hours=3)},  # longer than max_backoff
])
def test_a_dispatch_policy_that_cannot_work_is_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="DispatchPolicy"):
        DispatchPolicy(**settings)


@pytest.mark.parametrize("settings", [{"team": 7}, {"owner": ["eva"]}, {"name": None}])
def test_a_mail_channel_of_the_wrong_types_is_a_configuration_error(
        settings: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="MailChannel"):
        MailChannel(**settings)


def test_good_values_still_make_value_objects() -> None:
    assert AttachmentMeta("k", "a.pdf", size=3).size == 3
    assert CallEvent(**EVENT).kind == "ringing"
    assert DispatchPolicy(batch=5).batch == 5
    assert MailChannel(name="shop", team="returns").team == "returns"
