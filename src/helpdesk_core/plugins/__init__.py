"""The only package that imports pluggy: hook specifications, the registry and the manager."""

from helpdesk_core.plugins.manager import ENTRY_POINT_GROUP, Hooks, hookimpl, make_plugin_manager
from helpdesk_core.plugins.registry import Factories, Registry

__all__ = ["ENTRY_POINT_GROUP", "Factories", "Hooks", "Registry", "hookimpl", "make_plugin_manager"]
