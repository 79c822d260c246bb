"""Building the plugin manager and calling hooks through a typed wrapper.

The rest of the core never touches ``pm.hook``; it calls :class:`Hooks` methods whose
signatures mypy checks.
"""

from __future__ import annotations

import copy
import importlib.metadata
import logging
import os
import stat
import sys
import types
from collections.abc import Iterable, Mapping
from typing import Any

import pluggy

from helpdesk_core.domain.extensions import AssignmentResolver, Classification, FollowUpAction
from helpdesk_core.domain.history import TicketEvent
from helpdesk_core.domain.ticket import Ticket
from helpdesk_core.errors import PluginError
from helpdesk_core.plugins import hookspecs
from helpdesk_core.plugins.registry import Registry

__all__ = ["ENTRY_POINT_GROUP", "Hooks", "hookimpl", "make_plugin_manager"]

ENTRY_POINT_GROUP = "helpdesk_core"
hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT)
log = logging.getLogger("helpdesk_core.plugins")


def make_plugin_manager(
    *,
    autoload: bool = True,
    blocked: Iterable[str] = (),
    plugins: Iterable[object] = (),
) -> pluggy.PluginManager:
    """A new manager with the built-in plugin, entry-point plugins and ``plugins``.

    ``blocked`` names entry points (or plugin names) that must not load — the same names as in
    the ``HELPDESK_BLOCK_PLUGINS`` environment variable.
    """
    from helpdesk_core.plugins import builtin

    pm = _PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in blocked:
        pm.set_blocked(name)
    pm.register(builtin, name="helpdesk_core.builtin")
    if autoload:
        try:
            _load_entry_points(pm)
        except Exception as exc:  # a broken third-party plugin must say which one it was
            raise PluginError(f"loading a {ENTRY_POINT_GROUP!r} plugin failed: {exc}") from exc
    for plugin in plugins:
        try:
            pm.register(plugin)
        except (ValueError, pluggy.PluginValidationError) as exc:
            # Already registered (e.g. also loaded by entry point), or a hook implementation
            # whose signature does not fit its specification.
            raise PluginError(f"cannot register {plugin!r}: {exc}") from exc
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc
    return pm


# What pluggy can take for a hook implementation from a module's namespace.
_HOOKABLE = (types.FunctionType, types.MethodType, staticmethod, classmethod)


class _PluginManager(pluggy.PluginManager):
    """pluggy's manager, quicker to read a module: of the names in a module, only functions
    (and methods) can be hook implementations or specifications, and a plain function only
    if it carries the marker, so the others are passed over at once instead of each being
    looked up with ``inspect.getattr_static`` (which made up most of the time a plugin
    module took to register). What is found is the same."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        if _not_marked(plugin, name, f"{self.project_name}_impl"):
            return None
        return super().parse_hookimpl_opts(plugin, name)

    def parse_hookspec_opts(self, module_or_class: Any, name: str) -> Any:
        if _not_marked(module_or_class, name, f"{self.project_name}_spec"):
            return None
        return super().parse_hookspec_opts(module_or_class, name)


def _not_marked(namespace: object, name: str, marker: str) -> bool:
    """True when pluggy would find no hook at ``name`` of a module; False to let it look."""
    if not isinstance(namespace, types.ModuleType):
        return False
    value = vars(namespace).get(name)
    if isinstance(value, types.FunctionType):
        return getattr(value, marker, None) is None
    return not isinstance(value, _HOOKABLE)


_Found = list[tuple[importlib.metadata.EntryPoint, importlib.metadata.Distribution]]
_PathState = tuple[tuple[str, object], ...]
_METADATA = (".dist-info", ".egg-info")
# Two memos of what is installed, the only state kept between bootstrap() calls: the entry
# points of our group, for the one state of sys.path they were read at, and for each directory
# on sys.path its modification time and the distributions in it. Reading every distribution's
# metadata is by far the dearest part of a bootstrap() (some 2 ms with 70 distributions
# installed, against under 2 ms for everything else), so it happens again only when a
# distribution appears on sys.path or leaves it: a directory that changed for another reason
# (a SQLite file beside the script) is listed again, and that is all.
_discovered: dict[_PathState, _Found] = {}
_listings: dict[str, tuple[int, frozenset[str]]] = {}


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    """Register the plugins of the ``helpdesk_core`` entry points as pluggy's
    ``load_setuptools_entrypoints`` does (the first of a name wins; blocked names are left
    out), from entry points read once per set of distributions on ``sys.path``."""
    for entry_point, distribution in _entry_points():
        if pm.has_plugin(entry_point.name) or pm.is_blocked(entry_point.name):
            continue
        plugin = entry_point.load()
        pm.register(plugin, name=entry_point.name)
        # What load_setuptools_entrypoints records for list_plugin_distinfo() and
        # list_plugin_distributions() (a test checks that they still name the plugins).
        pm._plugin_distinfo.append((plugin, distribution))


def _entry_points() -> _Found:
    state = _path_state()
    found = _discovered.get(state)
    if found is None:
        found = [(entry_point, distribution)
                 for distribution in importlib.metadata.distributions()
                 for entry_point in distribution.entry_points
                 if entry_point.group == ENTRY_POINT_GROUP]
        _discovered.clear()
        _discovered[state] = found
    return found


def _path_state() -> _PathState:
    """Each entry of sys.path with the distributions in it (a file, such as a zip, with its
    modification time): what importlib.metadata would find there."""
    return tuple((entry, _distributions_in(entry)) for entry in sys.path)


def _distributions_in(entry: str) -> object:
    folder = entry or "."
    try:
        found = os.stat(folder)
    except (OSError, ValueError):
        return None
    if not stat.S_ISDIR(found.st_mode):
        return found.st_mtime_ns
    known = _listings.get(entry)
    if known is not None and known[0] == found.st_mtime_ns:
        return known[1]
    try:
        names = frozenset(name for name in os.listdir(folder) if name.endswith(_METADATA))
    except OSError:
        names = frozenset()
    _listings[entry] = (found.st_mtime_ns, names)
    return names


class Hooks:
    """Typed access to every hook in :mod:`helpdesk_core.plugins.hookspecs`."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm

    def register(self) -> Registry:
        """Run ``helpdesk_register`` once per plugin, recording which plugin added what."""
        registry = Registry()
        for impl in self.pm.hook.helpdesk_register.get_hookimpls():  # registration order
            registry.current_plugin = impl.plugin_name
            try:
                impl.function(registry=registry)
            except PluginError:
                raise
            except Exception as exc:
                raise PluginError(f"plugin {impl.plugin_name!r} failed to register: {exc}") from exc
        registry.current_plugin = "?"
        return registry

    def ticket_event(self, event: TicketEvent, ticket: Ticket) -> None:
        """Each listener gets its own copy of the ticket; with no listener nothing is copied."""
        for impl in self.pm.hook.helpdesk_ticket_event.get_hookimpls():
            own = {"event": event, "ticket": copy.deepcopy(ticket)}
            try:
                impl.function(*[own[arg] for arg in impl.argnames])
            except Exception:
                log.exception("plugin %s failed in helpdesk_ticket_event", impl.plugin_name)

    def template_globals(self, language: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        # pluggy returns results last-registered first; apply in registration order.
        for result in reversed(self.pm.hook.helpdesk_template_globals(language=language)):
            if not isinstance(result, Mapping):
                raise PluginError("helpdesk_template_globals must return a dict")
            merged.update(result)
        return merged

    def classify(self, ticket: Ticket, text: str) -> list[Classification]:
        """Suggestions in registration order. A classifier that fails or answers nonsense is
        logged and left out: a broken plugin must not stop a customer's ticket."""
        results = self._call_each("helpdesk_classify", {"ticket": ticket, "text": text})
        valid = []
        for plugin, result in results:
            if result is None:
                continue
            if isinstance(result, Classification):
                valid.append(result)
            else:
                log.error("plugin %s: helpdesk_classify returned %r, not a Classification",
                          plugin, type(result).__name__)
        return valid

    def assignment_resolvers(self) -> list[AssignmentResolver]:
        resolvers: list[AssignmentResolver] = []
        for result in reversed(self.pm.hook.helpdesk_assignment_resolvers()):
            resolvers.extend(result)
        return resolvers

    def followup_actions(self) -> dict[str, FollowUpAction]:
        actions: dict[str, FollowUpAction] = {}
        for result in reversed(self.pm.hook.helpdesk_followup_actions()):
            for action in result:
                if action.key in actions:
                    raise PluginError(f"follow-up action {action.key!r} registered twice")
                actions[action.key] = action
        return actions

    def _call_each(self, name: str, kwargs: dict[str, Any]) -> list[tuple[str, Any]]:
        """Call every implementation in registration order, isolated from each other: one
        failing (logged) must not silence the others or undo a commit."""
        caller = getattr(self.pm.hook, name)
        results = []
        for impl in caller.get_hookimpls():  # registration order
            try:
                results.append(
                    (impl.plugin_name, impl.function(*[kwargs[arg] for arg in impl.argnames]))
                )
            except Exception:
                log.exception("plugin %s failed in %s", impl.plugin_name, name)
        return results
