"""django-helpdesk's own ``get_email`` command on the same corpus, for comparison.

django-helpdesk is installed from PyPI into a virtual environment of its own, outside the
repository: ``$HELPDESK_BENCH_CACHE`` or ``~/.cache/helpdesk-bench``, directory
``django-helpdesk-<series>``, reused when present. Nothing of it is imported here: a minimal
Django project is written into a temporary directory and driven through that environment's
interpreter.

How it is set up (read from django-helpdesk 2.6's ``helpdesk/email.py`` and ``settings.py``):

* apps: auth, contenttypes, sessions, messages, sites (its library asks for the current
  site), humanize, admin, rest_framework, helpdesk; ``HELPDESK_TEAMS_MODE_ENABLED = False``
  (else it needs pinax-teams); templates from the app directories; ``ROOT_URLCONF`` with its
  URLs (the notification context builds ticket links); ``DEBUG = False`` (Django would keep
  every query in memory otherwise);
* SQLite file in the temporary directory with the pragmas our adapter uses (WAL,
  ``synchronous = NORMAL``) through Django's ``init_command``; Django runs in autocommit mode,
  so each save is its own transaction (several per mail);
* outgoing notifications: its templates are rendered and handed to Django's dummy e-mail
  backend (sending over SMTP is not measured on either side); attachments go to a
  ``MEDIA_ROOT`` in the temporary directory;
* one Queue, slug ``support`` (the corpus tags ``[support-<id>]``), ``email_box_type =
  "local"``, ``email_box_local_dir`` = a copy of the corpus's ``.eml`` files (``get_email``
  deletes each file it turned into a ticket or follow-up, and would read ``manifest.json`` as
  a mail), ``allow_email_submission = True``, ``email_box_interval = 0``, no logging.

``get_email`` takes the directory listing in ``os.listdir`` order, which on most file systems
is not the order the mails arrived in; a reply processed before its thread's first mail cannot
be threaded. The wrapper therefore gives ``helpdesk.email`` a sorted listing (the corpus's
file names sort in arrival order); nothing else of django-helpdesk is changed.

Threading in django-helpdesk: ``In-Reply-To`` equal to the Message-ID stored on an earlier
follow-up, else ``[<slug>-<id>]`` in the subject; ``References`` is not read.

Measured in a fresh wrapper process (``migrate`` and the queue are set up by an earlier
process): the time of ``call_command("get_email")`` alone, the process's wall time, its
peak RSS (``VmHWM``) and the number of SQL statements (Django's ``execute_wrapper``).
Threading is then read back from its database: every ingested mail is one
``helpdesk_followup`` row carrying the mail's Message-ID.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

from common import load_manifest, run_child, score_threading
from corpus import DJANGO_SLUG, mail_files

SERIES = "2.6"
REQUIREMENT = f"django-helpdesk=={SERIES}.*"

SETTINGS = '''\
"""Minimal Django project for running django-helpdesk's get_email in a benchmark."""
from pathlib import Path

BASE = Path(__file__).resolve().parent
SECRET_KEY = "benchmark-only"
DEBUG = False
ALLOWED_HOSTS = ["localhost"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "benchurls"
SITE_ID = 1
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": BASE / "helpdesk.sqlite3",
    "OPTIONS": {"init_command": "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"},
}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
TIME_ZONE = "UTC"
MEDIA_ROOT = BASE / "media"
STATIC_URL = "/static/"
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
DEFAULT_FROM_EMAIL = "podpora@shop.example.com"
HELPDESK_TEAMS_MODE_ENABLED = False
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "root": {"handlers": [], "level": "ERROR"}}
'''

URLS = '''\
from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls", namespace="helpdesk"))]
'''

WRAPPER = '''\
"""setup: migrate and create the queue; ingest: time get_email; both print one JSON line."""
import json
import os
import resource
import sys
import time
import types

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsettings")
import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402

command, mailbox, slug = sys.argv[1], sys.argv[2], sys.argv[3]
result = {}
if command == "setup":
    call_command("migrate", verbosity=0, interactive=False)
    from helpdesk.models import Queue
    Queue.objects.create(
        title="Support", slug=slug, email_address="podpora@shop.example.com",
        allow_email_submission=True, email_box_type="local", email_box_local_dir=mailbox,
        email_box_interval=0, logging_type="none",
    )
else:
    import helpdesk.email as helpdesk_email

    sorted_os = types.ModuleType("os")
    sorted_os.__dict__.update(os.__dict__)
    sorted_os.listdir = lambda path: sorted(os.listdir(path))
    helpdesk_email.os = sorted_os  # arrival order; see the benchmark's docstring
    from django.db import connection

    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        call_command("get_email", quiet=True)
        result["seconds"] = time.perf_counter() - started
    result["queries"] = queries[0]
    result["left_in_mailbox"] = len(os.listdir(mailbox))
# VmHWM: ru_maxrss would include the parent's size at fork (Linux keeps it across exec).
with open("/proc/self/status") as status:
    hwm = [line for line in status if line.startswith("VmHWM:")]
result["peak_rss_kib"] = (int(hwm[0].split()[1]) if hwm
                          else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
import django as _d  # noqa: E402
from importlib.metadata import version  # noqa: E402

result["version"] = version("django-helpdesk")
result["django"] = _d.get_version()
print("BENCH-RESULT " + json.dumps(result), flush=True)
'''


def cache_dir() -> Path:
    base = os.environ.get("HELPDESK_BENCH_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "helpdesk-bench"


def _installed_version(python: Path) -> str | None:
    if not python.exists():
        return None
    proc = subprocess.run(
        [str(python), "-c",
         "import importlib.metadata as m, helpdesk; print(m.version('django-helpdesk'))"],
        capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def ensure_venv(*, log: Any = print) -> tuple[Path, str]:
    """The interpreter of the django-helpdesk environment and the installed version."""
    env_dir = cache_dir() / f"django-helpdesk-{SERIES}"
    python = env_dir / "bin" / "python"
    installed = _installed_version(python)
    if installed and installed.startswith(SERIES + "."):
        return python, installed
    log(f"  installing {REQUIREMENT} into {env_dir} ...")
    shutil.rmtree(env_dir, ignore_errors=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    REQUIREMENT], check=True, capture_output=True, text=True)
    installed = _installed_version(python)
    if not installed:
        raise RuntimeError(f"{REQUIREMENT} did not install into {env_dir}")
    return python, installed


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def run(corpus: Path, workdir: Path, *, timeout: float = 7200) -> dict[str, Any]:
    """Set up a project in ``workdir``, ingest ``corpus`` with get_email, score threading."""
    python, _ = ensure_venv()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "benchsettings.py").write_text(SETTINGS, encoding="utf-8")
    (workdir / "benchurls.py").write_text(URLS, encoding="utf-8")
    wrapper = workdir / "dhbench.py"
    wrapper.write_text(WRAPPER, encoding="utf-8")
    mailbox = workdir / "mailbox"
    mailbox.mkdir()
    for file in mail_files(corpus):
        shutil.copyfile(file, mailbox / file.name)
    argv = [str(python), str(wrapper)]
    run_child([*argv, "setup", str(mailbox), DJANGO_SLUG], env=_env(), cwd=workdir,
              timeout=600)
    result = run_child([*argv, "ingest", str(mailbox), DJANGO_SLUG], env=_env(), cwd=workdir,
                       timeout=timeout)
    manifest = load_manifest(corpus)
    result["mails"] = len(manifest["mails"])
    result["rate"] = result["mails"] / result["seconds"]
    result["statements_per_mail"] = result.pop("queries") / max(result["mails"], 1)
    result["threading"] = score_threading(manifest, landed(workdir, manifest),
                                          lambda n: str(n))
    return result


def landed(workdir: Path, manifest: dict[str, Any]) -> dict[str, str | None]:
    """File name → id of the ticket whose follow-up carries the mail's Message-ID."""
    conn = sqlite3.connect(workdir / "helpdesk.sqlite3")
    try:
        rows = conn.execute("SELECT message_id, ticket_id FROM helpdesk_followup").fetchall()
    finally:
        conn.close()
    by_id: dict[str, str] = {}
    for message_id, ticket_id in rows:
        if message_id:
            by_id.setdefault(message_id.strip(), str(ticket_id))
    return {m["file"]: by_id.get(m["message_id"]) for m in manifest["mails"]}


def main() -> int:
    import argparse
    import json
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path, help="a corpus generated for django-helpdesk")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dh-bench-") as tmp:
        result = run(args.corpus, Path(tmp))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
