"""Templates through the facade: save, list, delete, resolve, render, preview, host globals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from helpdesk_core import (
    Actor,
    Helpdesk,
    IncidentType,
    MessageTemplate,
    StaffVia,
    TemplateError,
    TemplateKind,
    hookimpl,
)
from helpdesk_core.errors import NotFound, TemplateNotFound, ValidationError
from helpdesk_core.services.acknowledgement import render_acknowledgement
from helpdesk_core.templates import DEFAULT_TEMPLATES

MakeHelpdesk = Callable[..., Helpdesk]
T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # the fake clock's time (conftest)

PETRA = Actor.agent("petra", "Petra Malá")


def reply(key: str = "thanks", language: str = "cs", incident_type: str | None = None,
          body: str = "Dobrý den {{ customer.name }}", **changes: Any) -> MessageTemplate:
    values: dict[str, Any] = {"key": key, "kind": TemplateKind.REPLY, "language": language,
                              "incident_type": incident_type, "name": f"{key} {language}",
                              "subject": "Re: {{ ticket.subject }}", "body_text": body}
    values.update(changes)
    return MessageTemplate(**values)


def jana_ticket(helpdesk: Helpdesk, **fields: str) -> str:
    form = {"email": "jana@example.cz", "message": "Konvice dorazila rozbitá.",
            "subject": "Rozbitá konvice", "order_number": "2026-00042", **fields}
    return helpdesk.tickets.open_from_web_form(form).number


def types(helpdesk: Helpdesk) -> None:
    helpdesk.configuration.define_incident_type(IncidentType("complaint", "Reklamace"))
    helpdesk.configuration.define_incident_type(IncidentType("complaint/damaged",
                                                             "Poškozené zboží"))


# -- saving -----------------------------------------------------------------------------------


def test_save_list_delete(helpdesk: Helpdesk) -> None:
    saved = helpdesk.templates.save(reply(), actor=PETRA)
    assert saved.updated_at == T0
    assert saved.updated_by == "petra"
    assert helpdesk.templates.list() == [saved]
    assert helpdesk.templates.list(key="other") == []
    with_defaults = helpdesk.templates.list(include_defaults=True)
    assert saved in with_defaults
    assert len(with_defaults) == len(DEFAULT_TEMPLATES) + 1
    assert helpdesk.templates.delete("thanks", "cs") is True
    assert helpdesk.templates.delete("thanks", "cs") is False
    assert helpdesk.templates.list() == []


def test_a_saved_system_template_replaces_the_built_in_one(helpdesk: Helpdesk) -> None:
    own = MessageTemplate(key="acknowledgement", kind=TemplateKind.ACKNOWLEDGEMENT,
                          language="cs", name="Potvrzení", subject="Máme to: {{ ticket.number }}",
                          body_text="Díky, {{ customer.name }}.")
    helpdesk.templates.save(own)
    listed = helpdesk.templates.list(key="acknowledgement", include_defaults=True)
    assert [t.language for t in listed] == ["cs", "de", "en", "sk"]
    assert listed[0].body_text == "Díky, {{ customer.name }}."


def test_unknown_placeholders_and_syntax_errors_are_reported_with_lines(
        helpdesk: Helpdesk) -> None:
    bad = reply(subject="Re: {{ ticket.subjekt }}",
                body="Dobrý den {{ customer.name }},\n\n{{ order.numbr }}\n{{ zakaznik }}",
                body_html="<p>\n{% if ticket.number %}\n</p>")
    with pytest.raises(TemplateError) as info:
        helpdesk.templates.save(bad)
    found = [(p.part, p.line, p.message) for p in info.value.problems]
    assert ("subject", 1, "unknown placeholder 'ticket.subjekt'") in found
    assert ("text", 3, "unknown placeholder 'order.numbr'") in found
    assert ("text", 4, "unknown placeholder 'zakaznik'") in found
    assert [(part, line) for part, line, message in found if "syntax" in message] == [
        ("html", 2)]  # the line where the unclosed block starts
    assert info.value.key == "thanks"
    assert helpdesk.templates.list() == []


def test_escapes_are_refused_when_saving(helpdesk: Helpdesk) -> None:
    with pytest.raises(TemplateError, match="__class__"):
        helpdesk.templates.save(reply(body="Hi\n{{ customer.name.__class__.__mro__ }}"))
    with pytest.raises(TemplateError, match="attr filter"):
        helpdesk.templates.save(reply(body="{{ ticket.subject|attr('format') }}"))


def test_an_undefined_incident_type_is_refused(helpdesk: Helpdesk) -> None:
    with pytest.raises(ValidationError) as info:
        helpdesk.templates.save(reply(incident_type="complaint"))
    assert info.value.field == "incident_type"


# -- resolving and rendering --------------------------------------------------------------------


def test_incident_type_inheritance_and_language_fallback(helpdesk: Helpdesk) -> None:
    types(helpdesk)
    helpdesk.templates.save(reply(body="cs global"))
    helpdesk.templates.save(reply(incident_type="complaint", body="cs reklamace"))
    helpdesk.templates.save(reply(language="en", incident_type="complaint/damaged",
                                 body="en damaged"))
    helpdesk.templates.save(reply(language="de", incident_type="complaint/damaged",
                                 body="de damaged"))
    jana = helpdesk.tickets.open_by_staff(agent=PETRA, via=StaffVia.PHONE, subject="Rozbité",
                                  message="...", customer_email="jana@example.cz",
                                  incident_type="complaint/damaged").number
    # Czech customer: the Czech template of the nearest ancestor beats any other language.
    assert helpdesk.templates.render(jana, "thanks").text == "cs reklamace"
    # Asked for German: the exact German one.
    assert helpdesk.templates.render(jana, "thanks", language="de").text == "de damaged"
    # Slovak is missing everywhere: the ticket's language (cs) is next in the chain.
    assert helpdesk.templates.render(jana, "thanks", language="sk").text == "cs reklamace"
    other = helpdesk.tickets.open_by_staff(agent=PETRA, via=StaffVia.PHONE, subject="Faktura",
                                   message="...", customer_email="jana@example.cz").number
    assert helpdesk.templates.render(other, "thanks").text == "cs global"
    with pytest.raises(NotFound):
        helpdesk.templates.render(other, "no-such-template")


def test_a_missing_template_says_what_was_looked_for_and_what_exists(helpdesk: Helpdesk) -> None:
    """It said "no template 'thanks' in cs, en" when the template existed, for another
    incident type or in another language."""
    types(helpdesk)
    helpdesk.configuration.define_incident_type(IncidentType("general", "Dotaz"))
    helpdesk.templates.save(reply(incident_type="general", body="cs"))
    helpdesk.templates.save(reply(language="en", incident_type="general", body="en"))
    complaint = helpdesk.tickets.open_by_staff(
        agent=PETRA, via=StaffVia.PHONE, subject="Rozbité", message="...",
        customer_email="jana@example.cz", incident_type="complaint").number
    with pytest.raises(TemplateNotFound) as info:
        helpdesk.templates.preview(complaint, "thanks", agent=PETRA)
    assert str(info.value) == (
        f"ticket {complaint}: no template 'thanks' for incident type 'complaint' in cs or en; "
        "it exists for incident types: general (cs, en)")
    assert info.value.available == (("general", "cs"), ("general", "en"))
    # for the incident type, but only in another language
    helpdesk.templates.save(reply(language="de", incident_type="complaint", body="de"))
    with pytest.raises(TemplateNotFound) as info:
        helpdesk.templates.render(complaint, "thanks", language="sk")
    assert str(info.value) == (
        f"ticket {complaint}: no template 'thanks' for incident type 'complaint' in sk, cs or "
        "en; it exists for incident types: complaint (de), general (cs, en)")
    # for every incident type, in another language; a ticket without an incident type
    helpdesk.templates.save(reply(language="de", body="de"))
    plain = helpdesk.tickets.open_by_staff(
        agent=PETRA, via=StaffVia.PHONE, subject="Dotaz", message="...",
        customer_email="jana@example.cz").number
    with pytest.raises(TemplateNotFound, match=(
            r"no template 'thanks' for a ticket without incident type in cs or en; it exists "
            r"for every incident type \(de\) and for incident types: complaint \(de\), "
            r"general \(cs, en\)$")):
        helpdesk.templates.render(plain, "thanks")
    with pytest.raises(TemplateNotFound, match=(
            r"no template 'thanks-typo' exists, in any language or for any incident type$")):
        helpdesk.templates.render(plain, "thanks-typo")


def test_a_key_names_one_kind_of_template(helpdesk: Helpdesk) -> None:
    """A reply must not resolve to an SMS text (no subject) in some language."""
    helpdesk.templates.save(reply(language="cs"))
    sms = MessageTemplate(key="thanks", kind=TemplateKind.SMS_REPLY, language="de",
                          name="Danke", body_text="Danke {{ customer.name }}")
    with pytest.raises(ValidationError) as info:
        helpdesk.templates.save(sms)
    assert info.value.field == "kind"
    assert str(info.value) == ("kind: 'thanks' is a template of kind reply (cs, every incident "
                               "type); one of kind sms_reply needs a key of its own")
    assert [t.language for t in helpdesk.templates.list()] == ["cs"]
    # the same template may change its kind when it is the only one with the key
    helpdesk.templates.save(attrs.evolve(sms, language="cs"))
    assert [t.kind for t in helpdesk.templates.list()] == [TemplateKind.SMS_REPLY]


def test_an_unsaved_template_is_previewed_in_its_own_language(helpdesk: Helpdesk) -> None:
    number = jana_ticket(helpdesk)
    draft = reply(language="de", body="Guten Tag {{ customer.name }}")
    assert helpdesk.templates.preview(number, draft, language="de").text == (
        "Guten Tag Jana Nováková")
    with pytest.raises(ValidationError) as info:
        helpdesk.templates.preview(number, draft, language="cs")
    assert info.value.field == "language"


def test_a_ticket_without_the_language_falls_back_to_english(helpdesk: Helpdesk) -> None:
    helpdesk.templates.save(reply(language="en", body="english"))
    hans = helpdesk.tickets.open_from_web_form({"email": "hans@example.de",
                                                "message": "Hallo"}).number
    assert helpdesk.templates.render(hans, "thanks").text == "english"


def test_preview_renders_against_a_real_ticket_without_sending(helpdesk: Helpdesk) -> None:
    number = jana_ticket(helpdesk)
    helpdesk.templates.save(reply(
        key="order-info",
        body=("Dobrý den {{ customer.name }},\n"
              "objednávku {{ order.number }} ({{ order.summary }}) ze dne "
              "{{ order.placed_at|date }} jsme převzali {{ now|datetime }}.\n"
              "Firma: {{ organisation.name }}. Stav: {{ ticket.portal_url }}\n"
              "{% for o in orders %}{{ loop.index }}. {{ o.number }}{% endfor %}"),
        body_html="<p>{{ customer.name }} &ndash; {{ order.number }}</p>"))
    before = (helpdesk.tickets.articles(number), helpdesk.outbox.for_ticket(number))
    shown = helpdesk.templates.preview(number, "order-info", agent=PETRA)
    assert shown.subject == "Re: Rozbitá konvice"
    assert shown.text == (
        "Dobrý den Jana Nováková,\n"
        "objednávku 2026-00042 (Konvice Retro) ze dne 28. listopadu 2026 jsme převzali "
        "1. prosince 2026 10:30.\n"
        "Firma: Kávový koutek s.r.o.. Stav: https://shop.example/podpora/" + number + "\n"
        "1. 2026-00042")
    assert shown.html == "<p>Jana Nováková &ndash; 2026-00042</p>"
    assert (helpdesk.tickets.articles(number), helpdesk.outbox.for_ticket(number)) == before


def test_preview_of_an_unsaved_template_checks_it_first(helpdesk: Helpdesk) -> None:
    number = jana_ticket(helpdesk)
    draft = reply(body="Agent: {{ agent.name }}, {{ ticket.priority }}")
    assert helpdesk.templates.preview(number, draft,
                                      agent=PETRA).text == "Agent: Petra Malá, normal"
    assert helpdesk.templates.list() == []
    with pytest.raises(TemplateError, match="line 2"):
        helpdesk.templates.preview(number, reply(body="ok\n{{ nope }}"))


def test_customer_data_that_looks_like_a_template_renders_literally(
        helpdesk: Helpdesk) -> None:
    number = helpdesk.tickets.open_from_web_form({
        "email": "evil@example.cz", "name": "{{7*7}} {{ ''.__class__ }}",
        "subject": "{% for i in range(10**9) %}x{% endfor %}", "message": "{{ 7*7 }}"}).number
    shown = helpdesk.templates.render(number, "resolution")
    assert "Dobrý den" not in shown.text  # no language given: English
    assert "Hello {{7*7}} {{ ''.__class__ }}," in shown.text
    assert shown.subject.endswith("Resolved: {% for i in range(10**9) %}x{% endfor %}")
    assert "49" not in shown.text


LEGIT = {
    "cs": ("Dobrý den {{ customer.name }}, požadavek {{ ticket.number }} ze dne "
           "{{ ticket.created_at|date }} ({{ ticket.created_at|date('short') }}) vyřídíme do "
           "{{ sla.due_at|datetime }}. Částka {{ 1234.5|money('CZK') }}, "
           "{{ 1234567|number }} ks.",
           "ze dne 1. prosince 2026 (1. 12. 2026) vyřídíme do 3. prosince 2026 17:00. "
           "Částka 1\u00a0234,50\u00a0Kč, 1\u00a0234\u00a0567 ks."),
    "de": ("Guten Tag {{ customer.name }}, Anfrage {{ ticket.number }} vom "
           "{{ ticket.created_at|date }} ({{ ticket.created_at|date('short') }}) bis "
           "{{ sla.due_at|datetime }}. Betrag {{ 1234.5|money }}, {{ 1234567|number }} Stück.",
           "vom 1. Dezember 2026 (01.12.2026) bis 3. Dezember 2026, 17:00. "
           "Betrag 1.234,50\u00a0€, 1.234.567 Stück."),
    "sk": ("Dobrý deň {{ customer.name }}, požiadavka {{ ticket.number }} zo dňa "
           "{{ ticket.created_at|date }} ({{ ticket.created_at|date('short') }}) do "
           "{{ sla.due_at|datetime }}. Suma {{ 1234.5|money }}, {{ 1234567|number }} ks.",
           "zo dňa 1. decembra 2026 (1. 12. 2026) do 3. decembra 2026, 17:00. "
           "Suma 1\u00a0234,50\u00a0€, 1\u00a0234\u00a0567 ks."),
    "en": ("Hello {{ customer.name }}, request {{ ticket.number }} of "
           "{{ ticket.created_at|date }} ({{ ticket.created_at|date('short') }}) by "
           "{{ sla.due_at|datetime }}. Amount {{ 1234.5|money }}, {{ 1234567|number }} pcs.",
           "of 1 December 2026 (1 Dec 2026) by 3 December 2026, 17:00. "
           "Amount €1,234.50, 1,234,567 pcs."),
}


@pytest.mark.parametrize("language", LEGIT)
def test_legitimate_templates_render_with_localised_dates(helpdesk: Helpdesk,
                                                          language: str) -> None:
    number = jana_ticket(helpdesk)
    helpdesk.tickets.set_due(number, datetime(2026, 12, 3, 16, 0, tzinfo=UTC), actor=PETRA)
    source, expected = LEGIT[language]
    saved = helpdesk.templates.save(reply(language=language, body=source))
    text = helpdesk.templates.render(number, "thanks", language=language).text
    assert saved.language == language
    assert text.endswith(expected), text
    assert number in text


@pytest.mark.parametrize("kind", [k for k in TemplateKind if k.is_system])
@pytest.mark.parametrize("language", ["cs", "de", "sk", "en"])
def test_every_built_in_system_template_renders(helpdesk: Helpdesk, kind: TemplateKind,
                                                language: str) -> None:
    number = jana_ticket(helpdesk)
    helpdesk.tickets.set_due(number, datetime(2026, 12, 3, 16, 0, tzinfo=UTC), actor=PETRA)
    shown = helpdesk.templates.render(number, kind.value, language=language)
    assert number in shown.subject + shown.text
    assert bool(shown.subject) == kind.has_subject
    assert "None" not in shown.text


# -- host globals -------------------------------------------------------------------------------


class ShopGlobals:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    @hookimpl
    def helpdesk_template_globals(self, language: str) -> dict[str, Any]:
        signature = {"cs": "S pozdravem", "de": "Mit freundlichen Grüßen"}
        return {**self.values, "signature": signature.get(language, "Kind regards")}


def test_host_globals_are_known_names_and_render(make_helpdesk: MakeHelpdesk) -> None:
    plain = make_helpdesk()
    source = "{{ customer.name }}\n{{ signature }}, {{ shop_name }}"
    with pytest.raises(TemplateError, match="unknown placeholder 'shop_name'"):
        plain.templates.save(reply(body=source))
    desk = make_helpdesk(ShopGlobals({"shop_name": "Konvice.cz", "ticket": "shadow"}))
    desk.templates.save(reply(body=source))
    desk.templates.save(reply(language="de", body=source))
    number = jana_ticket(desk)
    assert desk.templates.render(number, "thanks").text == (
        "Jana Nováková\nS pozdravem, Konvice.cz")
    assert desk.templates.render(number, "thanks", language="de").text.endswith(
        "Mit freundlichen Grüßen, Konvice.cz")
    # a host global never replaces a documented placeholder
    assert desk.templates.preview(number, reply(body="{{ ticket.number }}")).text == number


def test_a_name_a_plugin_gives_other_languages_only_says_so(make_helpdesk: MakeHelpdesk) -> None:
    """'unknown placeholder' read like a typo when the plugin just did not cover the language."""
    class CzechAndGermanSignatures:
        @hookimpl
        def helpdesk_template_globals(self, language: str) -> dict[str, Any]:
            signature = {"cs": "S pozdravem", "de": "Mit freundlichen Grüßen"}
            return {"signature": signature[language]} if language in signature else {}

    desk = make_helpdesk(CzechAndGermanSignatures())
    desk.templates.save(reply(body="{{ signature }}"))
    with pytest.raises(TemplateError) as info:
        desk.templates.save(reply(language="fr", body="Bonjour\n{{ signatur }}\n{{ signature }}"))
    assert [str(p) for p in info.value.problems] == [
        "text, line 2: unknown placeholder 'signatur'",
        "text, line 3: unknown placeholder 'signature': a plugin provides it for cs, de, not "
        "for fr",
    ]


# -- acknowledgements ---------------------------------------------------------------------------


def test_acknowledgements_use_the_template_for_the_incident_type(helpdesk: Helpdesk) -> None:
    types(helpdesk)
    helpdesk.templates.save(MessageTemplate(
        key="acknowledgement", kind=TemplateKind.ACKNOWLEDGEMENT, language="cs",
        incident_type="complaint", name="Potvrzení reklamace",
        subject="Reklamace {{ ticket.number }}",
        body_text="Reklamaci k objednávce {{ order.number }} jsme přijali."))
    complaint = helpdesk.tickets.open_by_staff(agent=PETRA, via=StaffVia.PHONE, subject="Rozbité",
                                       message="...", customer_email="jana@example.cz",
                                       order_number="2026-00042",
                                       incident_type="complaint/damaged")
    rendered = helpdesk.templates.render(complaint.number, "acknowledgement")
    subject, text = rendered.subject, rendered.text
    assert subject == f"Reklamace {complaint.number}"
    assert text == "Reklamaci k objednávce 2026-00042 jsme přijali."
    other = helpdesk.tickets.open_by_staff(agent=PETRA, via=StaffVia.PHONE, subject="Dotaz",
                                   message="...", customer_email="jana@example.cz")
    rendered = helpdesk.templates.render(other.number, "acknowledgement")
    subject, text = rendered.subject, rendered.text
    assert subject == f"[{other.number}] Dotaz"
    assert text.startswith("Dobrý den Jana Nováková,")
    # without the helpdesk's dependencies, stored templates can be handed in
    stored = helpdesk.templates.list(key="acknowledgement")
    assert render_acknowledgement(complaint, customer_name="Jana", language="cs",
                                  stored=stored)[0] == f"Reklamace {complaint.number}"
    assert render_acknowledgement(complaint, customer_name="Jana", language="sk")[1].startswith(
        "Dobrý deň Jana,")


def test_settings_refuse_an_unknown_time_zone() -> None:
    from helpdesk_core import Settings
    from helpdesk_core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="template_timezone"):
        Settings(template_timezone="Mars/Olympus")


def test_a_storage_adapter_without_a_template_store_falls_back_to_memory(
        make_helpdesk: MakeHelpdesk) -> None:
    from helpdesk_core.inmemory import InMemoryBlobStore, InMemoryStorage, InMemoryTemplateStore

    class OldAdapter:
        @hookimpl
        def helpdesk_register(self, registry: Any) -> None:
            registry.add_storage("old", lambda settings: InMemoryStorage())
            registry.add_blob_store("old", lambda settings: InMemoryBlobStore())

    desk = make_helpdesk(OldAdapter(), storage="old")
    assert isinstance(desk.template_store, InMemoryTemplateStore)
    assert "memory" in desk.registry.template_stores
