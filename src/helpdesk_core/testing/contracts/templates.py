"""The template store: one template per key, language and incident type.

Covers :class:`~helpdesk_core.ports.templates.TemplateStore`.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_core.domain.templates import MessageTemplate, TemplateKind, template_order
from helpdesk_core.ports.storage import Storage
from helpdesk_core.ports.templates import TemplateStore
from helpdesk_core.testing.builders import T0
from helpdesk_core.testing.contracts.backend import Backend
from helpdesk_core.testing.contracts.capabilities import Capabilities

__all__ = ["TestTemplateStore", "message_templates"]

COVERS = (TemplateStore,)


def _reply(key: str = "thanks", language: str = "cs", incident_type: str | None = None,
           **changes: object) -> MessageTemplate:
    values: dict[str, object] = {
        "key": key, "kind": TemplateKind.REPLY, "language": language,
        "incident_type": incident_type, "name": f"{key} {language}",
        "subject": "Re: {{ ticket.subject }}", "body_text": "Dobrý den {{ customer.name }},\n",
        "updated_at": T0, "updated_by": "petra",
    }
    values.update(changes)
    return MessageTemplate(**values)  # type: ignore[arg-type]


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=200)


@st.composite
def message_templates(draw: st.DrawFn) -> MessageTemplate:
    """Stored values, not necessarily valid templates: stores keep what they are given."""
    return _reply(
        key=draw(st.sampled_from(["thanks", "delay", "refund.info"])),
        language=draw(st.sampled_from(["cs", "de", "sk", "en"])),
        incident_type=draw(st.sampled_from([None, "complaint", "complaint/damaged"])),
        name=draw(st.text("abcčřž ", min_size=1, max_size=30)).strip() or "x",
        subject=draw(_TEXT).strip() or "s",
        body_text=draw(_TEXT).strip() or "b",
        body_html=draw(st.none() | _TEXT.map(lambda t: t.strip() or "<p>x</p>")),
        updated_at=T0 + timedelta(seconds=draw(st.integers(0, 10**8)),
                                  microseconds=draw(st.integers(0, 999_999))),
        updated_by=draw(st.none() | st.just("petra")),
    )


class TestTemplateStore:
    def test_put_then_get_returns_an_equal_value(self, template_store: TemplateStore) -> None:
        template = _reply(body_html="<p>Dobrý den {{ customer.name }}</p>")
        template_store.put(template)
        assert template_store.get("thanks", "cs") == template
        assert template_store.get("thanks", "cs", None) == template
        assert template_store.get("thanks", "de") is None
        assert template_store.get("thanks", "cs", "complaint") is None

    def test_identity_is_key_language_and_incident_type(
            self, template_store: TemplateStore) -> None:
        variants = [_reply(), _reply(language="de"), _reply(incident_type="complaint"),
                    _reply(incident_type="complaint/damaged"), _reply(key="delay")]
        for template in variants:
            template_store.put(template)
        for template in variants:
            assert template_store.get(*template.identity) == template
        assert len(template_store.all()) == len(variants)

    def test_put_replaces(self, template_store: TemplateStore) -> None:
        template_store.put(_reply())
        newer = _reply(body_text="Nový text", updated_at=T0 + timedelta(hours=1),
                       updated_by="olga", body_html="<p>x</p>")
        template_store.put(newer)
        assert template_store.get("thanks", "cs") == newer
        assert template_store.all() == [newer]
        cleared = _reply(body_html=None, updated_by=None)
        template_store.put(cleared)
        assert template_store.get("thanks", "cs") == cleared

    def test_delete(self, template_store: TemplateStore) -> None:
        template_store.put(_reply())
        template_store.put(_reply(incident_type="complaint"))
        assert template_store.delete("thanks", "cs", "complaint") is True
        assert template_store.delete("thanks", "cs", "complaint") is False
        assert template_store.get("thanks", "cs") is not None
        assert template_store.delete("thanks", "cs") is True
        assert template_store.all() == []

    def test_all_is_ordered_and_filters_by_key(self, template_store: TemplateStore) -> None:
        made = [_reply(key="b", language="en"), _reply(key="a", language="sk"),
                _reply(key="a", language="cs", incident_type="complaint"),
                _reply(key="a", language="cs"), _reply(key="c"),
                _reply(key="a", language="cs", incident_type="billing")]
        for template in made:
            template_store.put(template)
        assert template_store.all() == sorted(made, key=template_order)
        assert [t.identity for t in template_store.all(key="a")] == [
            ("a", "cs", None), ("a", "cs", "billing"), ("a", "cs", "complaint"),
            ("a", "sk", None)]
        assert template_store.all(key="zzz") == []

    def test_every_kind_round_trips(self, template_store: TemplateStore) -> None:
        for kind in TemplateKind:
            key = kind.value if kind.is_system else f"my-{kind.value.replace('_', '-')}"
            template = MessageTemplate(
                key=key, kind=kind, language="de", name=kind.value,
                subject="Betreff {{ ticket.number }}" if kind.has_subject else "",
                body_text="Text", body_html=None if kind.is_sms else "<p>Text</p>")
            template_store.put(template)
            assert template_store.get(key, "de") == template

    # A fresh store per example. The same class may be collected by several test modules of
    # one session (one per adapter); its instances are interchangeable executors.
    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors])
    @given(st.lists(message_templates(), max_size=6))
    def test_the_store_agrees_with_a_dict(self, helpdesk_backend: Backend,
                                          templates: list[MessageTemplate]) -> None:
        with helpdesk_backend.fresh_storage() as storage:
            template_store = helpdesk_backend.template_store(storage)
            model: dict[tuple[str, str, str | None], MessageTemplate] = {}
            for template in templates:
                template_store.put(template)
                model[template.identity] = template
            assert template_store.all() == sorted(model.values(), key=template_order)
            for identity, template in model.items():
                assert template_store.get(*identity) == template

    def test_another_instance_reads_the_templates(
        self, helpdesk_backend: Backend, storage: Storage, template_store: TemplateStore,
        storage_capabilities: Capabilities,
    ) -> None:
        template = _reply(body_html="<p>Děkujeme</p>")
        template_store.put(template)
        if storage_capabilities.offers("durable"):
            with helpdesk_backend.reopened(storage) as other:
                again = helpdesk_backend.template_store(other)
                assert again.all() == [template]
                assert again.delete(*template.identity) is True
            assert template_store.all() == []
        else:
            # The store lives and dies with its instance: a new one has none of its templates.
            with helpdesk_backend.fresh_storage() as other:
                assert helpdesk_backend.template_store(other).all() == []
            assert template_store.all() == [template]
