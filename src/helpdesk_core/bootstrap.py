"""The one composition root: ``bootstrap(settings) -> Helpdesk``."""

from __future__ import annotations

import logging
import os
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from helpdesk_core.app import Helpdesk
from helpdesk_core.inmemory.clock import SystemClock
from helpdesk_core.inmemory.staff import InMemoryStaffDirectory
from helpdesk_core.plugins import Hooks, make_plugin_manager
from helpdesk_core.plugins.registry import Registry
from helpdesk_core.ports import BlobStore, Clock, Directory, Storage, TemplateStore
from helpdesk_core.ports.staff import StaffDirectory
from helpdesk_core.services.deps import Deps
from helpdesk_core.services.directory import StorageDirectory
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
    plugins: Iterable[object] = (),
    environ: Mapping[str, str] | None = None,
) -> Helpdesk:
    """Build a ready Helpdesk. Keyword arguments replace what the settings would build.

    ``templates`` replaces the template store named by ``settings.template_store``.
    ``staff`` replaces the staff directory built from ``settings.staff``.

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
    if settings.migrate:
        storage.migrate()
    blob_store = blob_store or registry.blob_stores.create(
        settings.blob_store or settings.storage, settings
    )
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
    deps = Deps(
        storage=storage,
        directory=directory,
        blob_store=blob_store,
        clock=clock or SystemClock(),
        hooks=hooks,
        workflow=settings.workflow,
        ticket_number=settings.ticket_number,
        default_language=settings.default_language,
        classification_rules=settings.classification_rules,
        mail_policy=settings.mail_policy,
        mail_channels=settings.mail_channels,
        templates=templates,
        template_limits=settings.template_limits,
        template_timezone=settings.template_timezone,
        portal_url=settings.portal_url,
        staff=staff or InMemoryStaffDirectory(settings.staff),
        sla=settings.sla,
    )
    return Helpdesk(deps=deps, settings=settings, registry=registry, plugin_manager=pm)


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
    if settings.migrate and name != settings.storage:
        store.migrate()  # the storage's own migration covers a store of the same adapter
    return store


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


class _CallableModule(types.ModuleType):
    """Importing ``helpdesk_core.bootstrap`` (the module) makes Python set the package's
    ``bootstrap`` attribute to the module, so ``from helpdesk_core import bootstrap`` would
    give the module instead of the function; calling the module calls the function."""

    def __call__(self, *args: Any, **kwargs: Any) -> Helpdesk:
        return bootstrap(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
