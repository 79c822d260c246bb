"""Settings: everything ``bootstrap()`` needs to know, as one frozen value.

Nothing reads the environment at import time; :meth:`Settings.from_env` does it when called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs
import pendulum

from helpdesk_core.domain.extensions import KeywordRule
from helpdesk_core.domain.merging import MergePolicy
from helpdesk_core.domain.numbering import TicketNumberFormat
from helpdesk_core.domain.portal import MIN_SECRET_LENGTH, PortalLimits
from helpdesk_core.domain.staff import HelpdeskStaff
from helpdesk_core.domain.status import Workflow
from helpdesk_core.domain.values import language_tag
from helpdesk_core.errors import ConfigurationError, ValidationError
from helpdesk_core.mail.policy import MailChannel, MailPolicy
from helpdesk_core.sla.config import SlaConfig
from helpdesk_core.templates.sandbox import TemplateLimits

__all__ = ["DEFAULT_DATABASE_URL", "Settings"]

DEFAULT_DATABASE_URL = "sqlite:///helpdesk.sqlite3"

_TRUE = {"1", "true", "yes", "on"}
AUTOLOAD_OFF = "HELPDESK_DISABLE_PLUGIN_AUTOLOAD"
BLOCK_PLUGINS = "HELPDESK_BLOCK_PLUGINS"


def _default_language(value: object) -> str:
    try:
        return language_tag(value, field="default_language")
    except ValidationError as exc:
        raise ConfigurationError(str(exc)) from exc


@attrs.frozen
class Settings:
    """
    storage            name of a registered storage factory ("sqlalchemy", "memory")
    database_url       passed to the storage factory (SQLAlchemy URL for "sqlalchemy")
    blob_store         name of a registered blob store; None: the one named like the storage
    directory          name of a registered Directory; "builtin" keeps contacts in our storage
    ticket_number      how ticket numbers look
    workflow           statuses and allowed moves
    default_language   language of customers who did not say: an ISO 639-1 code, with an
                       optional script and region (cs, pt-BR), normalised like every language
    options            adapter-specific settings, e.g. {"sqlite_busy_timeout_ms": "30000"}
    autoload_plugins   load plugins from the ``helpdesk_core`` entry-point group
    blocked_plugins    entry-point names never to load
    migrate            create the schema, or upgrade it when it is behind, during bootstrap;
                       on an up-to-date database this costs one query. False: never change
                       the schema (it is created by ``helpdesk db upgrade``), and refuse to
                       start with a SchemaError unless it is up to date
    classification_rules  keyword rules that suggest incident type, priority, team, tags
    mail_policy        how inbound mail is threaded, verified and acknowledged
    mail_channels      the mailboxes mail arrives through, with their defaults
    template_store     name of a registered template store; None: the one named like the
                       storage, or "memory" when the storage adapter registers none
    template_limits    time limit, output cap and other limits of a template rendering
    template_timezone  the IANA zone dates in templates are shown in
    portal_url         the customer portal's page of a ticket, with ``{number}`` standing for
                       the ticket number; None when there is no portal
    portal_secret      the key signed portal links are signed with: at least 32 characters,
                       the same in every process, kept out of logs (not in the repr); None:
                       no signed links (issuing or opening one is a ConfigurationError).
                       Changing it invalidates every link issued before
    portal_limits      how often one caller may open links, tickets and replies through
                       ``helpdesk.portal``, and the longest a link may live (PortalLimits)
    staff              agents, teams, absences, the helpdesk owner and the order of the
                       assignment chain (see docs/explanation/assignment.md)
    sla                SLA policies and their selection rules, escalation addresses
    merging            merge limits, other customers, SLA across a merge, the merge notice,
                       whether resolving a parent resolves its children
    """

    storage: str = "sqlalchemy"
    database_url: str = DEFAULT_DATABASE_URL
    blob_store: str | None = None
    directory: str = "builtin"
    ticket_number: TicketNumberFormat = attrs.field(factory=TicketNumberFormat)
    workflow: Workflow = attrs.field(factory=Workflow.default)
    default_language: str = attrs.field(default="en", converter=_default_language)
    options: Mapping[str, Any] = attrs.field(factory=dict)
    autoload_plugins: bool = True
    blocked_plugins: frozenset[str] = frozenset()
    migrate: bool = True
    classification_rules: tuple[KeywordRule, ...] = ()
    mail_policy: MailPolicy = attrs.field(factory=MailPolicy)
    mail_channels: tuple[MailChannel, ...] = ()
    template_store: str | None = None
    template_limits: TemplateLimits = attrs.field(factory=TemplateLimits)
    template_timezone: str = "UTC"
    portal_url: str | None = None
    portal_secret: str | None = attrs.field(default=None, repr=False)
    portal_limits: PortalLimits = attrs.field(factory=PortalLimits)
    staff: HelpdeskStaff = attrs.field(factory=HelpdeskStaff)
    sla: SlaConfig | None = None
    merging: MergePolicy = attrs.field(factory=MergePolicy)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``HELPDESK_*`` variables; keyword arguments win over the environment.

        HELPDESK_STORAGE, HELPDESK_DATABASE_URL, HELPDESK_BLOB_STORE, HELPDESK_DIRECTORY,
        HELPDESK_TICKET_PREFIX, HELPDESK_TICKET_PATTERN, HELPDESK_LANGUAGE,
        HELPDESK_DISABLE_PLUGIN_AUTOLOAD (1/true), HELPDESK_BLOCK_PLUGINS (comma-separated),
        HELPDESK_PORTAL_SECRET.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for var, name in (
            ("HELPDESK_STORAGE", "storage"),
            ("HELPDESK_DATABASE_URL", "database_url"),
            ("HELPDESK_BLOB_STORE", "blob_store"),
            ("HELPDESK_DIRECTORY", "directory"),
            ("HELPDESK_LANGUAGE", "default_language"),
            ("HELPDESK_PORTAL_SECRET", "portal_secret"),
        ):
            if env.get(var):
                values[name] = env[var]
        if env.get("HELPDESK_TICKET_PREFIX") or env.get("HELPDESK_TICKET_PATTERN"):
            default = TicketNumberFormat()
            values["ticket_number"] = TicketNumberFormat(
                prefix=env.get("HELPDESK_TICKET_PREFIX", default.prefix),
                pattern=env.get("HELPDESK_TICKET_PATTERN", default.pattern),
            )
        if env.get(AUTOLOAD_OFF, "").strip().lower() in _TRUE:
            values["autoload_plugins"] = False
        values["blocked_plugins"] = blocked_plugins_from(env)
        values.update(overrides)
        return cls(**values)

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)

    def __attrs_post_init__(self) -> None:
        if not self.storage:
            raise ConfigurationError("settings.storage must name a storage adapter")
        if self.portal_secret is not None and (not isinstance(self.portal_secret, str)
                                               or len(self.portal_secret) < MIN_SECRET_LENGTH):
            raise ConfigurationError(f"portal_secret must be text of at least "
                                     f"{MIN_SECRET_LENGTH} characters")
        if not isinstance(self.portal_limits, PortalLimits):
            raise ConfigurationError("portal_limits must be a PortalLimits")
        try:
            pendulum.timezone(self.template_timezone)
        except Exception as exc:  # pendulum raises several kinds for an unknown zone
            raise ConfigurationError(
                f"template_timezone {self.template_timezone!r} is not a time zone") from exc


def blocked_plugins_from(environ: Mapping[str, str]) -> frozenset[str]:
    raw = environ.get(BLOCK_PLUGINS, "")
    return frozenset(p.strip() for p in raw.split(",") if p.strip())
