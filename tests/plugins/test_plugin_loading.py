"""Loading plugins: fail-fast validation, name clashes, unknown adapters, blocking."""

from __future__ import annotations

import importlib.metadata
import os
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

from helpdesk_core import Settings, bootstrap
from helpdesk_core.domain import TicketNumberFormat
from helpdesk_core.errors import ConfigurationError, HelpdeskError, PluginError
from helpdesk_core.inmemory import InMemoryStorage
from helpdesk_core.plugins import ENTRY_POINT_GROUP, Hooks, hookimpl, make_plugin_manager

MEMORY = Settings(storage="memory", autoload_plugins=False)


def audit_plugin(name: str = "acme_audit") -> types.ModuleType:
    """A plugin as a module, the shape entry points load; blocked by its name."""
    module = types.ModuleType(name)
    module.calls = []  # type: ignore[attr-defined]

    @hookimpl
    def helpdesk_template_globals(language: str) -> dict[str, Any]:
        module.calls.append(language)  # type: ignore[attr-defined]
        return {"audited": True}

    module.helpdesk_template_globals = helpdesk_template_globals  # type: ignore[attr-defined]
    return module


def test_a_misspelled_hook_fails_fast():
    class Typo:
        @hookimpl
        def helpdesk_registr(self, registry):
            registry.add_storage("never", lambda settings: InMemoryStorage())

    with pytest.raises(PluginError, match="helpdesk_registr"):
        bootstrap(MEMORY, plugins=[Typo()], environ={})


def test_a_plugin_module_is_read_for_its_hooks_only_and_a_misspelled_one_fails_fast():
    """Modules are searched quickly (only their functions), with the same outcome."""
    plugin = audit_plugin("acme_module")
    plugin.helpdesk_registr = hookimpl(lambda registry: None)  # type: ignore[attr-defined]
    plugin.helpdesk_not_marked = lambda registry: None  # type: ignore[attr-defined]
    plugin.settings = {"helpdesk_register": "not a hook"}  # type: ignore[attr-defined]
    with pytest.raises(PluginError, match="helpdesk_registr"):
        bootstrap(MEMORY, plugins=[plugin], environ={})
    del plugin.helpdesk_registr  # type: ignore[attr-defined]
    helpdesk = bootstrap(MEMORY, plugins=[plugin], environ={})
    assert helpdesk.hooks.template_globals("cs") == {"audited": True}
    impls = helpdesk.plugin_manager.hook.helpdesk_template_globals.get_hookimpls()
    assert [impl.plugin_name for impl in impls] == ["acme_module"]


def test_a_hook_with_an_unknown_argument_is_a_plugin_error():
    class WrongArgs:
        @hookimpl
        def helpdesk_register(self, registry, extra):
            pass

    with pytest.raises(PluginError, match="extra"):
        bootstrap(MEMORY, plugins=[WrongArgs()], environ={})


def test_registering_the_same_storage_name_twice_is_a_plugin_error():
    class Impostor:
        @hookimpl
        def helpdesk_register(self, registry):
            registry.add_storage("memory", lambda settings: InMemoryStorage())

    with pytest.raises(PluginError, match="registered twice") as info:
        bootstrap(MEMORY, plugins=[Impostor()], environ={})
    assert "helpdesk_core.builtin" in str(info.value)


@pytest.mark.parametrize(
    ("name", "factory"),
    [("", lambda settings: InMemoryStorage()), ("ok", "not callable"), (None, lambda s: None)],
)
def test_nonsense_registrations_are_plugin_errors(name, factory):
    class Nonsense:
        @hookimpl
        def helpdesk_register(self, registry):
            registry.add_storage(name, factory)

    with pytest.raises(PluginError):
        bootstrap(MEMORY, plugins=[Nonsense()], environ={})


def test_a_failing_register_hook_is_a_plugin_error_naming_the_plugin():
    class Crashing:
        @hookimpl
        def helpdesk_register(self, registry):
            raise KeyError("missing config")

    with pytest.raises(PluginError, match="crashing-plugin") as info:
        bootstrap(MEMORY, plugins=[_named(Crashing(), "crashing-plugin")], environ={})
    assert isinstance(info.value.__cause__, KeyError)


def _named(plugin: object, name: str) -> object:
    plugin.__name__ = name  # type: ignore[attr-defined]
    return plugin


def test_an_unknown_storage_lists_the_known_ones():
    with pytest.raises(ConfigurationError, match="nosql") as info:
        bootstrap(Settings(storage="nosql", autoload_plugins=False), environ={})
    assert "memory" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_unknown_blob_store_and_directory_are_configuration_errors():
    with pytest.raises(ConfigurationError, match="blob store"):
        bootstrap(Settings(storage="memory", blob_store="s3", autoload_plugins=False),
                  environ={})
    with pytest.raises(ConfigurationError, match="directory"):
        bootstrap(Settings(storage="memory", directory="ldap", autoload_plugins=False),
                  environ={})


def test_an_empty_storage_name_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        Settings(storage="")


# -- blocking ----------------------------------------------------------------------------------


def test_helpdesk_block_plugins_in_the_environment_blocks_a_plugin_by_name():
    plugin = audit_plugin()
    blocked = bootstrap(MEMORY, plugins=[plugin], environ={
        "HELPDESK_BLOCK_PLUGINS": " other , acme_audit ,"
    })
    assert blocked.hooks.template_globals("cs") == {}
    assert plugin.calls == []
    assert blocked.plugin_manager.is_blocked("acme_audit")
    allowed = bootstrap(MEMORY, plugins=[plugin], environ={"HELPDESK_BLOCK_PLUGINS": "other"})
    assert allowed.hooks.template_globals("cs") == {"audited": True}


def test_settings_blocked_plugins_block_too():
    plugin = audit_plugin()
    settings = Settings(storage="memory", autoload_plugins=False,
                        blocked_plugins=frozenset({"acme_audit"}))
    helpdesk = bootstrap(settings, plugins=[plugin], environ={})
    assert helpdesk.hooks.template_globals("cs") == {}


def test_settings_from_env_reads_the_block_list():
    settings = Settings.from_env({"HELPDESK_STORAGE": "memory",
                                  "HELPDESK_DISABLE_PLUGIN_AUTOLOAD": "TRUE",
                                  "HELPDESK_BLOCK_PLUGINS": "acme_audit,, sqlalchemy "})
    assert settings.blocked_plugins == {"acme_audit", "sqlalchemy"}
    assert settings.autoload_plugins is False
    plugin = audit_plugin()
    helpdesk = bootstrap(settings, plugins=[plugin], environ={})
    assert helpdesk.hooks.template_globals("cs") == {}


def test_blocking_the_builtin_plugin_removes_the_memory_adapters():
    with pytest.raises(ConfigurationError, match="none"):
        bootstrap(MEMORY, environ={"HELPDESK_BLOCK_PLUGINS": "helpdesk_core.builtin"})


def test_make_plugin_manager_blocks_explicit_plugins_and_is_never_shared():
    plugin = audit_plugin()
    blocked = make_plugin_manager(autoload=False, blocked=["acme_audit"], plugins=[plugin])
    assert Hooks(blocked).template_globals("en") == {}
    other = make_plugin_manager(autoload=False, plugins=[plugin])
    assert other is not blocked
    assert Hooks(other).template_globals("en") == {"audited": True}
    assert Hooks(blocked).template_globals("en") == {}  # still untouched


def _entry_point_names() -> set[str]:
    return {ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def test_an_entry_point_plugin_can_be_blocked():
    if "sqlalchemy" not in _entry_point_names():
        if os.environ.get("CI"):
            pytest.fail("the helpdesk-sqlalchemy adapter must be installed in CI")
        pytest.skip("helpdesk-sqlalchemy is not installed (outside CI)")
    loaded = Hooks(make_plugin_manager()).register()
    assert "sqlalchemy" in loaded.storages
    blocked = Hooks(make_plugin_manager(blocked=["sqlalchemy"])).register()
    assert "sqlalchemy" not in blocked.storages
    with pytest.raises(ConfigurationError, match="sqlalchemy") as info:
        bootstrap(Settings(storage="sqlalchemy", database_url="sqlite://"),
                  environ={"HELPDESK_BLOCK_PLUGINS": "sqlalchemy"})
    assert "memory" in str(info.value)


def _install(folder: Path, name: str) -> None:
    """A distribution as importlib.metadata finds it on sys.path: its .dist-info with an
    entry point of our group, and the plugin module the entry point names."""
    info = folder / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{name} = {name}_plugin\n")
    (folder / f"{name}_plugin.py").write_text(textwrap.dedent(f"""
        from helpdesk_core.plugins import hookimpl

        @hookimpl
        def helpdesk_template_globals(language):
            return {{"{name}": True}}
    """))


def test_entry_points_are_read_again_only_when_a_distribution_comes_or_goes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading every installed distribution's metadata was most of a bootstrap(); it happens
    once per set of distributions on sys.path, and a new one is still found."""
    reads: list[int] = []
    read = importlib.metadata.distributions

    def counted(**kwargs: Any) -> Any:
        reads.append(1)
        return read(**kwargs)

    monkeypatch.setattr(importlib.metadata, "distributions", counted)
    _install(tmp_path, "acme_first")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = make_plugin_manager()
    assert first.has_plugin("acme_first")
    (tmp_path / "helpdesk.sqlite3").write_bytes(b"")  # the folder changes, not what it holds
    second = make_plugin_manager(blocked=["acme_first"])
    assert not second.has_plugin("acme_first")
    assert Hooks(make_plugin_manager()).template_globals("en") == {"acme_first": True}
    assert len(reads) == 1
    _install(tmp_path, "acme_second")
    third = make_plugin_manager()
    assert Hooks(third).template_globals("en") == {"acme_first": True, "acme_second": True}
    assert len(reads) == 2
    # The plugins' distributions are listed as pluggy's own loader lists them.
    listed = {dist.project_name for _, dist in third.list_plugin_distinfo()}
    assert {"acme_first", "acme_second"} <= listed


# -- settings from the environment -------------------------------------------------------------


def test_settings_from_env():
    settings = Settings.from_env({
        "HELPDESK_STORAGE": "memory", "HELPDESK_DATABASE_URL": "sqlite://",
        "HELPDESK_DIRECTORY": "memory", "HELPDESK_LANGUAGE": "cs",
        "HELPDESK_TICKET_PREFIX": "REQ-", "HELPDESK_BLOB_STORE": "memory",
    }, default_language="sk")
    assert (settings.storage, settings.database_url, settings.directory, settings.blob_store) == (
        "memory", "sqlite://", "memory", "memory"
    )
    assert settings.default_language == "sk"  # keyword arguments win
    assert settings.ticket_number == TicketNumberFormat(prefix="REQ-")
    assert settings.autoload_plugins is True
    assert settings.blocked_plugins == frozenset()
    empty = Settings.from_env({})
    assert empty == Settings()


def test_a_bad_ticket_pattern_in_the_environment_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        Settings.from_env({"HELPDESK_TICKET_PATTERN": "{prefix}{year}"})
    with pytest.raises(ConfigurationError):
        Settings.from_env({"HELPDESK_TICKET_PREFIX": "1-"})


def test_all_loading_errors_are_helpdesk_errors():
    assert issubclass(PluginError, HelpdeskError)
    assert issubclass(ConfigurationError, HelpdeskError)
