"""The public surface is deliberate, and the domain imports no I/O machinery."""

from __future__ import annotations

import importlib
import importlib.resources
import json
import subprocess
import sys
import textwrap

import helpdesk_core

# Adding a public name means adding it here too.
PUBLIC = [
    "Absence",
    "AcknowledgementRefused",
    "Actor",
    "AdapterError",
    "Agent",
    "AgentScope",
    "Article",
    "AssignmentProposal",
    "AttachmentMeta",
    "CallRecord",
    "Channel",
    "Classification",
    "ConcurrencyError",
    "ConfigurationError",
    "Contact",
    "ContactNotFound",
    "DeliveryError",
    "DeliveryOutcome",
    "Direction",
    "DispatchPolicy",
    "DispatchReport",
    "DomainError",
    "DuplicateSuggestion",
    "EntityKind",
    "EntityRef",
    "EventKind",
    "FetchReport",
    "FollowUpRequest",
    "Helpdesk",
    "HelpdeskError",
    "HelpdeskStaff",
    "IncidentType",
    "InvalidTransition",
    "KbArticle",
    "KbChange",
    "KbRevision",
    "KbState",
    "KbSuggestion",
    "KbVisibility",
    "KeywordRule",
    "LinkRefused",
    "MailChannel",
    "MailOutcome",
    "MailPolicy",
    "MailboxError",
    "MergeConflict",
    "MergePolicy",
    "Merged",
    "MessageTemplate",
    "MessageTooLarge",
    "NotFound",
    "Order",
    "OrderNotFound",
    "OrderNotOwned",
    "Organisation",
    "OutboxMessage",
    "OutboxState",
    "Page",
    "PermissionDenied",
    "PluginError",
    "Priority",
    "Product",
    "QueueSort",
    "RateLimited",
    "Registry",
    "Relation",
    "RenderedMessage",
    "Role",
    "SchemaError",
    "ScreenPop",
    "Settings",
    "SmsOutcome",
    "SmsTooLong",
    "Split",
    "StaffVia",
    "StagedMail",
    "StagedState",
    "Status",
    "StatusCategory",
    "StorageDirectory",
    "StorageError",
    "StorageUnavailable",
    "SweepReport",
    "Team",
    "TeamStrategy",
    "TemplateError",
    "TemplateKind",
    "TemplateLimits",
    "TemplateNotFound",
    "Ticket",
    "TicketEvent",
    "TicketLink",
    "TicketNotFound",
    "TicketNumberFormat",
    "TicketQuery",
    "UnknownStaff",
    "ValidationError",
    "Workflow",
    "WorkingHours",
    "bootstrap",
    "hookimpl",
]

FORBIDDEN = ["sqlalchemy", "pluggy", "smtplib", "socket", "ssl", "imaplib", "poplib",
             "http.client", "asyncio", "psycopg", "alembic"]


def test_all_is_the_curated_list():
    assert sorted(PUBLIC) == PUBLIC
    assert list(helpdesk_core.__all__) == PUBLIC


def test_every_public_name_resolves_to_the_object_of_its_home_module():
    for name in PUBLIC:
        value = getattr(helpdesk_core, name)
        if name == "hookimpl":  # a pluggy marker instance, made for our project name
            assert value is importlib.import_module("helpdesk_core.plugins").hookimpl
            assert value.project_name == "helpdesk_core"
            continue
        home = getattr(value, "__module__", "")
        assert home.startswith("helpdesk_core"), (name, home)


def test_dir_matches_all():
    assert sorted(dir(helpdesk_core)) == PUBLIC


def test_unknown_names_raise_attribute_error():
    try:
        helpdesk_core.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        message = str(exc)
    else:
        raise AssertionError("no AttributeError")
    assert "NoSuchThing" in message


def test_the_package_ships_py_typed():
    marker = importlib.resources.files("helpdesk_core") / "py.typed"
    assert marker.is_file()


def _modules_after(statement: str) -> set[str]:
    code = textwrap.dedent(f"""
        import json, sys
        {statement}
        print(json.dumps(sorted(sys.modules)))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_domain_pulls_in_no_io_or_plugin_machinery():
    loaded = _modules_after("import helpdesk_core.domain")
    assert "helpdesk_core.domain" in loaded
    assert sorted(m for m in FORBIDDEN if m in loaded) == []
    assert not any(m.startswith(("helpdesk_core.plugins", "helpdesk_core.services",
                                 "helpdesk_core.inmemory", "helpdesk_core.bootstrap"))
                   for m in loaded)


def test_importing_the_package_is_lazy():
    loaded = _modules_after("import helpdesk_core")
    assert "pluggy" not in loaded
    assert "helpdesk_core.bootstrap" not in loaded


def test_lazy_names_are_the_real_objects():
    errors = importlib.import_module("helpdesk_core.errors")
    domain = importlib.import_module("helpdesk_core.domain")
    assert helpdesk_core.TicketNotFound is errors.TicketNotFound
    assert helpdesk_core.Ticket is domain.Ticket


def test_bootstrap_is_callable_after_its_module_was_imported() -> None:
    code = ("import helpdesk_core.bootstrap\n"
            "from helpdesk_core import Settings, bootstrap\n"
            "with bootstrap(Settings(storage='memory', autoload_plugins=False), environ={}) as h:\n"
            "    print(type(h).__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "Helpdesk"
