"""Developer and CI sessions. ``nox -s tests`` is what CI runs."""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "typecheck", "tests"]

PACKAGES = ["-e", ".", "-e", "adapters/helpdesk-sqlalchemy[postgresql]",
            "-e", "adapters/helpdesk-mail", "-e", "adapters/helpdesk-sms",
            "-e", "adapters/helpdesk-telephony"]
TEST_DEPS = ["pytest>=8", "hypothesis>=6.100", "pytest-xdist>=3.5", "aiosmtpd>=1.4"]
DEFAULT_TEST_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _env() -> dict[str, str]:
    return {"HELPDESK_TEST_DATABASE_URL": os.environ.get("HELPDESK_TEST_DATABASE_URL",
                                                        DEFAULT_TEST_DB)}


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite: unit, contract, services, plugins, and the adapters' real-server tests."""
    session.install(*PACKAGES, *TEST_DEPS)
    session.run("python", "-m", "pytest", *(session.posargs or ["-q"]), env=_env())


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and the import-linter layer contracts."""
    session.install(*PACKAGES, "ruff>=0.6", "import-linter>=2.1")
    session.run("ruff", "check", ".")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the core and the SQLAlchemy adapter."""
    session.install(*PACKAGES, *TEST_DEPS, "mypy>=1.10")
    session.run("mypy")
    session.run("mypy", "--config-file", "adapters/helpdesk-sqlalchemy/pyproject.toml",
                "adapters/helpdesk-sqlalchemy/src")
    session.run("mypy", "--config-file", "adapters/helpdesk-mail/pyproject.toml",
                "adapters/helpdesk-mail/src")
    session.run("mypy", "--config-file", "adapters/helpdesk-sms/pyproject.toml",
                "adapters/helpdesk-sms/src")
    session.run("mypy", "--config-file", "adapters/helpdesk-telephony/pyproject.toml",
                "adapters/helpdesk-telephony/src")


@nox.session
def demo(session: nox.Session) -> None:
    """The quickstart example on the embedded default (SQLite)."""
    session.install(*PACKAGES)
    session.run("python", "examples/quickstart/demo.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against baselines run side by side: storage (API vs raw SQL), mail ingestion
    (ours vs the stdlib limit vs django-helpdesk), pathological HTML per mail against a fixed
    budget and a plain mail of the same size, the SLA sweep at two table sizes,
    start-up (bootstrap() vs a bare SQLAlchemy connection) and merging a ticket of 1,000
    articles and its undo (vs writing those articles in one unit of work).
    ``-- --record`` writes the figures into docs/benchmarks.md."""
    session.install(*PACKAGES)
    record = ["--record"] if "--record" in session.posargs else []
    rest = [a for a in session.posargs if a != "--record"]
    session.run("python", "benchmarks/run.py", *record, *rest, env=_env())
    session.run("python", "benchmarks/mail/run.py", *record, env=_env())
    session.run("python", "benchmarks/mail/pathological_html.py", *record, env=_env())
    session.run("python", "benchmarks/sla_sweep.py", *record, env=_env())
    session.run("python", "benchmarks/startup.py", *record, env=_env())
    session.run("python", "benchmarks/merge.py", *record, env=_env())


@nox.session
def docs(session: nox.Session) -> None:
    """Checks the docs: every hook documented, every relative link resolves."""
    session.install(*PACKAGES)
    session.run("python", "tools/check_docs.py")


@nox.session
def hostile(session: nox.Session) -> None:
    """The hostile-argument property long: every public facade method fed values of the wrong
    type and hostile strings, 1,000 examples each in memory and 60 on SQLite and PostgreSQL
    (the test suite runs 30 and 6). ``-- N`` sets the in-memory count."""
    session.install(*PACKAGES, *TEST_DEPS)
    examples = session.posargs[0] if session.posargs else "1000"
    env = {**_env(), "HELPDESK_HOSTILE_EXAMPLES": examples, "HELPDESK_HOSTILE_SQL_EXAMPLES": "60"}
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "tests/property/test_hostile_arguments.py",
                "adapters/helpdesk-sqlalchemy/tests/test_sqlalchemy_hostile_arguments.py",
                env=env)


@nox.session
def merge_model(session: nox.Session) -> None:
    """The merge state machine long: merge, undo, split and links among mail, SMS, portal
    replies and notes, 1,000 examples of 50 steps in memory and 100 beside SQLite and
    PostgreSQL (the suite runs 40 and 10 of 25-30 steps). ``-- N`` sets the in-memory count."""
    session.install(*PACKAGES, *TEST_DEPS)
    examples = session.posargs[0] if session.posargs else "1000"
    env = {**_env(), "HELPDESK_MERGE_EXAMPLES": examples, "HELPDESK_MERGE_SQL_EXAMPLES": "100",
           "HELPDESK_MERGE_STEPS": "50"}
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "tests/property/test_merge_state_machine.py",
                "adapters/helpdesk-sqlalchemy/tests/test_sqlalchemy_merge_state_machine.py",
                env=env)


@nox.session
def faults_fetch(session: nox.Session) -> None:
    """Concurrent fetchers long: 4 and 8 processes on PostgreSQL and 2 on SQLite share one
    mailbox of 1,000 mails (the suite runs 100 and 50); none lost, none stored twice, every
    ledger row processed, losers see only lost races. ``-- N`` sets the number of mails.
    Also the database outages under the fetch loop."""
    session.install(*PACKAGES, *TEST_DEPS)
    mails = session.posargs[0] if session.posargs else "1000"
    env = {**_env(), "HELPDESK_FAULTS_FETCH_MAILS": mails}
    session.run("python", "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                "adapters/helpdesk-sqlalchemy/tests/test_sqlalchemy_fetch_race.py",
                "adapters/helpdesk-sqlalchemy/tests/test_sqlalchemy_fetch_outage.py", env=env)


# The long fault runs of the outbox (the suite runs short ones): leases from 1 s to 300 s, a
# server taking 2-7 s a message, dispatchers killed mid-send; about an hour in all. With a 1 s
# lease the server's time comes after the data: a lease must outlast the envelope.
FAULTS_OUTBOX = [
    {"backend": "postgresql", "dispatchers": 4, "messages": 60, "lease": 1,
     "per_message": [2, 7], "before_data": 0.05, "kills": 6, "kill_every": 8, "batch": 10},
    {"backend": "postgresql", "dispatchers": 2, "messages": 40, "lease": 30,
     "per_message": [2, 7], "kills": 4, "kill_every": 15, "batch": 10},
    {"backend": "sqlite", "dispatchers": 2, "messages": 30, "lease": 5,
     "per_message": [2, 7], "kills": 4, "kill_every": 10, "batch": 5},
    {"backend": "postgresql", "dispatchers": 4, "messages": 110, "lease": 300,
     "per_message": [5, 7], "kills": 4, "kill_every": 60, "batch": 50},
]


@nox.session
def faults_outbox(session: nox.Session) -> None:
    """The outbox fault runs long: dispatcher processes killed mid-send on PostgreSQL and
    SQLite against a slow SMTP server; each Message-ID must reach it at most once. Prints each
    case's figures (docs/benchmarks.md). ``-- '<json list of cases>'`` runs other cases."""
    import json

    session.install(*PACKAGES, *TEST_DEPS)
    cases = session.posargs[0] if session.posargs else json.dumps(FAULTS_OUTBOX)
    session.run("python", "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                "adapters/helpdesk-mail/tests/test_mail_outbox_faults.py",
                env={**_env(), "HELPDESK_OUTBOX_FAULTS": cases})
