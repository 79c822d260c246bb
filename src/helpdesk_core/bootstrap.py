"""The one composition root: ``bootstrap(settings) -> Helpdesk``."""

from __future__ import annotations

import logging
import os
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pendulum
import pluggy

from helpdesk_core.app import Helpdesk
from helpdesk_core.domain.history import EventKind
from helpdesk_core.facade.calls import CallsSection
from helpdesk_core.facade.configuration import ConfigurationSection
from helpdesk_core.facade.guard import Guard
from helpdesk_core.facade.knowledge import KnowledgeSection
from helpdesk_core.facade.mail import MailSection
from helpdesk_core.facade.outbox import OutboxSection
from helpdesk_core.facade.portal import PortalSection
from helpdesk_core.facade.privacy import PrivacySection
from helpdesk_core.facade.sla import SlaSection
from helpdesk_core.facade.sms import SmsSection
from helpdesk_core.facade.staff import StaffSection
from helpdesk_core.facade.templates import TemplatesSection
from helpdesk_core.facade.tickets import TicketsSection
from helpdesk_core.inmemory.clock import SystemClock
from helpdesk_core.inmemory.ratelimit import InMemoryRateLimiter
from helpdesk_core.inmemory.staff import InMemoryStaffDirectory
from helpdesk_core.plugins import Hooks, make_plugin_manager
from helpdesk_core.plugins.registry import Registry
from helpdesk_core.ports import BlobStore, Clock, Directory, Storage, TemplateStore
from helpdesk_core.ports.ratelimit import RateLimiter
from helpdesk_core.ports.staff import StaffDirectory
from helpdesk_core.services.acknowledgement import Acknowledger
from helpdesk_core.services.assignment import Assignment, check_staff_references
from helpdesk_core.services.calls import Calls
from helpdesk_core.services.configuration import Configuration
from helpdesk_core.services.directory import StorageDirectory
from helpdesk_core.services.intake import Intake
from helpdesk_core.services.knowledge import Knowledge
from helpdesk_core.services.mail_fetch import MailFetcher
from helpdesk_core.services.mail_ingest import MailIngest
from helpdesk_core.services.merge_handlers import ChildrenFollowParent, MergeNoticeSender
from helpdesk_core.services.merging import Merging
from helpdesk_core.services.messagebus import MessageBus
from helpdesk_core.services.outbox import Dispatcher
from helpdesk_core.services.portal import Portal
from helpdesk_core.services.privacy import Privacy
from helpdesk_core.services.replies import Replies
from helpdesk_core.services.resolution import ResolutionMessage
from helpdesk_core.services.sla import SlaService
from helpdesk_core.services.sla_tracking import IGNORED as SLA_IGNORED
from helpdesk_core.services.sla_tracking import SlaTracker
from helpdesk_core.services.sms import SmsService
from helpdesk_core.services.templates import Templates
from helpdesk_core.services.tickets import Tickets
from helpdesk_core.services.unit_of_work import Units
from helpdesk_core.settings import AUTOLOAD_OFF, Settings, blocked_plugins_from

__all__ = ["bootstrap"]

log = logging.getLogger("helpdesk_core.bootstrap")


def bootstrap(
    settings: Settings | None = None,
    *,
    storage: Storage | None = None,
    directory: Directory | None = None,
    directory_factory: Callable[[Storage], Directory] | None = None,
    blob_store: BlobStore | None = None,
    clock: Clock | None = None,
    templates: TemplateStore | None = None,
    staff: StaffDirectory | None = None,
    rate_limiter: RateLimiter | None = None,
    plugins: Iterable[object] = (),
    environ: Mapping[str, str] | None = None,
) -> Helpdesk:
    """Build a ready Helpdesk. Keyword arguments replace what the settings would build.

    ``templates`` replaces the template store named by ``settings.template_store``.
    ``staff`` replaces the staff directory built from ``settings.staff``.
    ``rate_limiter`` keeps ``helpdesk.portal``'s rate limits; the default keeps them in this
    process (a deployment of several processes passes one they share).

    ``directory_factory`` receives the storage and returns the Directory — for a host
    directory that wraps the built-in :class:`StorageDirectory` over the same storage.

    Plugins come from the ``helpdesk_core`` entry-point group (unless
    ``settings.autoload_plugins`` is false), minus those named in ``settings.blocked_plugins``
    or the ``HELPDESK_BLOCK_PLUGINS`` environment variable, plus ``plugins``.
    """
    settings = settings or Settings()
    env = os.environ if environ is None else environ
    autoload = settings.autoload_plugins and not _truthy(env.get(AUTOLOAD_OFF, ""))
    pm = make_plugin_manager(
        autoload=autoload,
        blocked=settings.blocked_plugins | blocked_plugins_from(env),
        plugins=plugins,
    )
    hooks = Hooks(pm)
    registry = hooks.register()
    storage = storage or registry.storages.create(settings.storage, settings)
    _prepare_schema(storage, settings)
    blob_store = blob_store or registry.blob_stores.create(
        settings.blob_store or settings.storage, settings
    )
    units = Units(storage, MessageBus())
    if directory is None and directory_factory is not None:
        directory = directory_factory(storage)
    if directory is None:
        directory = (
            StorageDirectory(storage)
            if settings.directory == "builtin"
            else registry.directories.create(settings.directory, settings)
        )
    if templates is None:
        templates = _template_store(registry, settings)
    return _assemble(settings=settings, registry=registry, pm=pm, hooks=hooks, units=units,
                     storage=storage, directory=directory, blob_store=blob_store,
                     clock=clock or SystemClock(), templates=templates,
                     staff=staff or InMemoryStaffDirectory(settings.staff),
                     rate_limiter=rate_limiter or InMemoryRateLimiter())


def _assemble(*, settings: Settings, registry: Registry, pm: pluggy.PluginManager,
              hooks: Hooks, units: Units, storage: Storage, directory: Directory,
              blob_store: BlobStore, clock: Clock, templates: TemplateStore,
              staff: StaffDirectory, rate_limiter: RateLimiter) -> Helpdesk:
    """Every service with the dependencies it names; the bus's handlers; the sections."""
    policy, channels = settings.mail_policy, settings.mail_channels
    check_staff_references(staff, mail_channels=channels, rules=settings.classification_rules,
                           sla=settings.sla)
    rendering = Templates(units=units, store=templates, directory=directory, clock=clock,
                          template_globals=hooks.template_globals,
                          limits=settings.template_limits, timezone=settings.template_timezone,
                          default_language=settings.default_language,
                          portal_url=settings.portal_url)
    assignment = Assignment(units=units, clock=clock, staff=staff,
                            resolvers=hooks.assignment_resolvers, sla=settings.sla)
    intake = Intake(units=units, clock=clock, directory=directory,
                    numbering=settings.ticket_number, assignment=assignment,
                    classifiers=hooks.classify, rules=settings.classification_rules,
                    default_language=settings.default_language)
    replies = Replies(units=units, clock=clock, directory=directory, policy=policy,
                      channels=channels)
    if settings.sla is not None:
        settings.sla.check()  # refused here, not at every intake
    tracker = SlaTracker(settings.sla, clock)
    ingest = MailIngest(units=units, clock=clock, directory=directory, policy=policy,
                        channels=channels, blob_store=blob_store, intake=intake,
                        numbering=settings.ticket_number, workflow=settings.workflow,
                        builtin_directory=isinstance(directory, StorageDirectory)
                        and directory.storage is storage)

    # The side rules of every change, in the order they run (docs/explanation/architecture.md);
    # a capability the settings turn off (SLA, resolution message) registers no handler.
    bus = units.bus
    bus.in_transaction("acknowledgement", Acknowledger(templates=rendering, policy=policy,
                                                       channels=channels, clock=clock),
                       kinds=[EventKind.CREATED])  # says why it sent none, when it is off
    if policy.resolution_message:
        bus.in_transaction("resolution_message",
                           ResolutionMessage(templates=rendering, replies=replies),
                           kinds=[EventKind.STATUS_CHANGED])
    if settings.sla is not None:
        bus.in_transaction("sla", tracker,
                           kinds=[k for k in EventKind if k not in SLA_IGNORED])
    bus.in_transaction("merge_notice", MergeNoticeSender(templates=rendering, replies=replies),
                       kinds=[EventKind.MERGED])
    if settings.merging.children_follow_parent:
        bus.in_transaction("children_follow_parent",
                           ChildrenFollowParent(workflow=settings.workflow, clock=clock),
                           kinds=[EventKind.STATUS_CHANGED])
    bus.after_commit("helpdesk_ticket_event", hooks.ticket_event)

    guard = Guard(units=units, directory=directory, staff=staff)
    sla = SlaService(units=units, clock=clock, config=settings.sla, tracker=tracker,
                     templates=rendering, headers=policy.headers())
    return Helpdesk(
        tickets=TicketsSection(
            guard=guard, intake=intake, replies=replies, workflow=settings.workflow,
            merging=Merging(units=units, clock=clock, policy=settings.merging, intake=intake),
            tickets=Tickets(units=units, clock=clock, workflow=settings.workflow,
                            blob_store=blob_store, followup_actions=hooks.followup_actions)),
        staff=StaffSection(guard=guard, assignment=assignment),
        mail=MailSection(guard=guard, units=units, ingest=ingest, fetcher=MailFetcher(
            units=units, clock=clock, blob_store=blob_store, ingest=ingest, staff=staff)),
        outbox=OutboxSection(guard=guard, units=units, dispatcher=Dispatcher(
            units=units, clock=clock, blob_store=blob_store)),
        sms=SmsSection(guard=guard, service=SmsService(
            units=units, clock=clock, directory=directory, intake=intake,
            workflow=settings.workflow)),
        calls=CallsSection(guard=guard, calls=Calls(units=units, clock=clock,
                                                    directory=directory, intake=intake)),
        sla=SlaSection(guard=guard, service=sla),
        templates=TemplatesSection(guard=guard, units=units, templates=rendering),
        configuration=ConfigurationSection(guard=guard,
                                           configuration=Configuration(units=units,
                                                                       staff=staff)),
        kb=KnowledgeSection(guard=guard, knowledge=Knowledge(units=units, clock=clock,
                                                             blob_store=blob_store)),
        portal=PortalSection(guard=guard, portal=Portal(
            units=units, clock=clock, directory=directory, workflow=settings.workflow,
            blob_store=blob_store, intake=intake, sla=sla,
            zone=pendulum.timezone(settings.template_timezone),
            secret=settings.portal_secret, limits=settings.portal_limits,
            limiter=rate_limiter)),
        privacy=PrivacySection(guard=guard, privacy=Privacy(units=units, blob_store=blob_store,
                                                            clock=clock)),
        settings=settings, registry=registry, plugin_manager=pm, bus=bus, storage=storage,
        blob_store=blob_store, directory=directory, template_store=templates, clock=clock,
        hooks=hooks, rate_limiter=rate_limiter,
    )


def _template_store(registry: Registry, settings: Settings) -> TemplateStore:
    """The named store; unnamed, the storage adapter's own, else one in memory (a storage
    plugin written before template stores existed registers none)."""
    name = settings.template_store
    if name is None:
        name = settings.storage
        if name not in registry.template_stores:
            log.warning("storage %r has no template store; templates are kept in memory",
                        name)
            name = "memory"
    store = registry.template_stores.create(name, settings)
    if name != settings.storage:
        _prepare_schema(store, settings)  # the storage's own covers a store of its adapter
    return store


def _prepare_schema(store: Storage | TemplateStore, settings: Settings) -> None:
    """``Settings.migrate``: create or upgrade the schema when it is behind (an adapter checks
    an up-to-date one with a query); otherwise refuse to start, with a ``SchemaError``, on a
    schema that is not up to date. A store written before ``check_schema`` existed is not
    checked."""
    if settings.migrate:
        store.migrate()
        return
    check = getattr(store, "check_schema", None)
    if check is not None:
        check()


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


class _CallableModule(types.ModuleType):
    """Importing ``helpdesk_core.bootstrap`` (the module) makes Python set the package's
    ``bootstrap`` attribute to the module, so ``from helpdesk_core import bootstrap`` would
    give the module instead of the function; calling the module calls the function."""

    def __call__(self, *args: Any, **kwargs: Any) -> Helpdesk:
        return bootstrap(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
