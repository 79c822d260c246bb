"""Languages through the facade and the settings: known ISO 639-1 codes (with an optional
script and region) in one normal form, everything else refused before anything is written."""

from __future__ import annotations

import pytest

from helpdesk_core import (
    Actor,
    Agent,
    ConfigurationError,
    Contact,
    MailChannel,
    Settings,
    StaffVia,
    ValidationError,
)

EVA = Actor.agent("eva", "Eva")
FORM = {"email": "hans.neu@example.de", "name": "Hans Neu",
        "message": "Mein Wasserkocher ist kaputt."}


def _staff_ticket(helpdesk, **details):
    return helpdesk.tickets.open_by_staff(agent=EVA, via=StaffVia.PHONE, subject="Dotaz",
                                          message="Konvice nehřeje.", **details)


@pytest.mark.parametrize(("given", "stored"), [
    ("CS", "cs"), (" de ", "de"), ("pt_BR", "pt-BR"), ("pt-br", "pt-BR"), ("PT-BR", "pt-BR"),
    ("zh_hant_tw", "zh-Hant-TW"), ("es-419", "es-419"), ("iw", "he"),
])
def test_a_language_is_stored_in_one_form(helpdesk, directory, given, stored):
    ticket = helpdesk.tickets.open_from_web_form({**FORM, "language": given})
    assert ticket.language == stored
    assert directory.customers[ticket.customer_id].language == stored
    assert _staff_ticket(helpdesk, language=given).language == stored


@pytest.mark.parametrize("language", ["xx", "cs-XX", "cz", "cze", "czech", "x-klingon",
                                      "en-US-posix", "c1", " "])
def test_an_unknown_language_is_refused_and_nothing_is_written(helpdesk, directory, language):
    customers = dict(directory.customers)
    with pytest.raises(ValidationError) as refused:
        helpdesk.tickets.open_from_web_form({**FORM, "language": language})
    assert refused.value.field == "language"
    with pytest.raises(ValidationError) as refused:
        _staff_ticket(helpdesk, language=language, customer_email="new@example.cz")
    assert refused.value.field == "language"
    assert directory.customers == customers
    assert helpdesk.tickets.queue().items == []


def test_a_regional_language_is_answered_from_its_language_s_templates(helpdesk):
    ticket = helpdesk.tickets.open_from_web_form({**FORM, "language": "de_AT"})
    assert ticket.language == "de-AT"
    _, acknowledgement = helpdesk.tickets.articles(ticket.number)
    assert acknowledgement.body_text.startswith("Guten Tag")


@pytest.mark.parametrize("language", ["xx", "cz", "english", ""])
def test_an_unknown_default_language_is_a_configuration_error(language):
    with pytest.raises(ConfigurationError, match="default_language"):
        Settings(storage="memory", default_language=language)
    with pytest.raises(ConfigurationError, match="default_language"):
        Settings.from_env({"HELPDESK_LANGUAGE": language or "  "}, storage="memory")


def test_the_default_language_is_normalised(make_helpdesk):
    assert Settings(default_language="PT_br").default_language == "pt-BR"
    assert Settings.from_env({"HELPDESK_LANGUAGE": "CS"}).default_language == "cs"
    helpdesk = make_helpdesk(default_language="SK")
    assert _staff_ticket(helpdesk).language == "sk"


def test_a_mail_channel_language_is_checked_and_normalised():
    assert MailChannel("support", language="CS").language == "cs"
    assert MailChannel("support").language is None
    with pytest.raises(ConfigurationError, match="language"):
        MailChannel("support", language="xx")


def test_a_contact_and_an_agent_language_are_checked_and_normalised():
    assert Contact.create(name="Jana", language="CS").language == "cs"
    assert Agent("ales", languages=("CS", "pt_BR")).languages == {"cs", "pt-BR"}
    with pytest.raises(ValidationError) as refused:
        Contact.create(name="Jana", language="xx")
    assert refused.value.field == "language"
    with pytest.raises(ValidationError) as refused:
        Agent("ales", languages=("cs", "xx"))
    assert refused.value.field == "languages"
