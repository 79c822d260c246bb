"""The template store on SQLite and PostgreSQL: the bootstrap wiring, and reads in the caller's
unit of work. (The core's template-store contract runs in test_contract.py.)"""

from __future__ import annotations

from helpdesk_core import Settings, bootstrap
from helpdesk_core.domain.templates import MessageTemplate, TemplateKind
from helpdesk_sqlalchemy import SqlAlchemyStorage, SqlAlchemyTemplateStore
from helpdesk_sqlalchemy.templates import message_templates


def test_templates_saved_through_the_facade_survive_a_restart(url: str) -> None:
    settings = Settings(database_url=url, autoload_plugins=True)
    with bootstrap(settings, environ={}) as desk:
        assert isinstance(desk.template_store, SqlAlchemyTemplateStore)
        # one pool for storage and templates
        assert desk.template_store.engine is desk.storage.engine  # type: ignore[attr-defined]
        desk.templates.save(MessageTemplate(
            key="thanks", kind=TemplateKind.REPLY, language="cs", name="Poděkování",
            subject="Re: {{ ticket.subject }}", body_text="Děkujeme, {{ customer.name }}."))
    with bootstrap(settings, environ={}) as desk:
        [saved] = desk.templates.list(key="thanks")
        assert saved.body_text == "Děkujeme, {{ customer.name }}."
        assert saved.updated_at is not None


def test_templates_are_read_in_the_callers_unit_of_work(storage: SqlAlchemyStorage) -> None:
    store = SqlAlchemyTemplateStore(storage.engine)
    with storage.unit_of_work() as uow:
        uow.connection().execute(message_templates.insert(), {
            "key": "acknowledgement", "language": "de", "incident_type": "",
            "kind": "acknowledgement",
            "name": "Eingang", "subject": "Ihre Anfrage", "body_text": "Danke."})
        # Not committed: only a read in the same transaction sees it.
        assert [t.language for t in store.all(key="acknowledgement", unit=uow)] == ["de"]
        assert store.all(key="acknowledgement") == []
        # A unit of another database is no transaction of this store's.
        assert store.all(key="acknowledgement", unit=object()) == []
