"""The typed registry that plugins fill in ``helpdesk_register``."""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from helpdesk_core.errors import ConfigurationError, PluginError

if TYPE_CHECKING:
    from helpdesk_core.ports import (
        BlobStore,
        Directory,
        JobQueue,
        MailInbox,
        MailSender,
        SmsSender,
        Storage,
        Telephony,
        TemplateStore,
    )
    from helpdesk_core.settings import Settings

__all__ = ["Factories", "Registry"]

T = TypeVar("T")

# The adapters this project ships as distributions of their own, by the names they register:
# a host that names one without installing it is told what to install.
_SHIPPED = {  # distribution: (extra of helpdesk-core, kinds, names)
    "helpdesk-sqlalchemy": ("sqlalchemy", {"storage", "blob store", "template store"},
                            {"sqlalchemy"}),
    "helpdesk-mail": ("mail", {"mail inbox", "mail sender"}, {"imap", "pop3", "smtp"}),
    "helpdesk-sms": ("sms", {"SMS sender"}, {"kannel", "twilio"}),
    "helpdesk-telephony": ("telephony", {"telephony"}, {"sipgate", "twilio"}),
}


def install_hint(kind: str, name: str) -> str:
    """What to install for an adapter of ours that is not registered, or ``""``."""
    for distribution, (extra, kinds, names) in _SHIPPED.items():
        if kind in kinds and name in names:
            if _installed(distribution):
                return (f"; {distribution} is installed but its plugin was not loaded: is "
                        f"plugin autoloading off (Settings.autoload_plugins, "
                        f"HELPDESK_DISABLE_PLUGIN_AUTOLOAD) or the plugin blocked "
                        f"(HELPDESK_BLOCK_PLUGINS)?")
            return (f"; the {kind} {name!r} comes with the {distribution} distribution: "
                    f"pip install 'helpdesk-core[{extra}]', or from a checkout "
                    f"pip install -e adapters/{distribution} (docs/how-to/install.md)")
    return ""


def _installed(distribution: str) -> bool:
    try:
        metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


class Factories(Generic[T]):
    """Named factories for one kind of adapter."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[[Settings], T]] = {}
        self._owners: dict[str, str] = {}

    def add(self, name: str, factory: Callable[[Settings], T], *, owner: str) -> None:
        if not name or not isinstance(name, str):
            raise PluginError(f"{owner}: a {self.kind} needs a name")
        if not callable(factory):
            raise PluginError(f"{owner}: the {self.kind} factory {name!r} is not callable")
        if name in self._factories:
            raise PluginError(
                f"{self.kind} {name!r} registered twice ({self._owners[name]} and {owner})"
            )
        self._factories[name] = factory
        self._owners[name] = owner

    def create(self, name: str, settings: Settings) -> T:
        try:
            factory = self._factories[name]
        except KeyError:
            known = ", ".join(sorted(self._factories)) or "none"
            raise ConfigurationError(
                f"no {self.kind} named {name!r} (registered: {known})"
                + install_hint(self.kind, name)
            ) from None
        return factory(settings)

    def names(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories


class Registry:
    """Adapters by kind and name. Plugins call the ``add_*`` methods."""

    def __init__(self) -> None:
        self.storages: Factories[Storage] = Factories("storage")
        self.blob_stores: Factories[BlobStore] = Factories("blob store")
        self.directories: Factories[Directory] = Factories("directory")
        self.mail_inboxes: Factories[MailInbox] = Factories("mail inbox")
        self.mail_senders: Factories[MailSender] = Factories("mail sender")
        self.sms_senders: Factories[SmsSender] = Factories("SMS sender")
        self.telephony: Factories[Telephony] = Factories("telephony")
        self.job_queues: Factories[JobQueue] = Factories("job queue")
        self.template_stores: Factories[TemplateStore] = Factories("template store")
        self.current_plugin = "?"

    def add_storage(self, name: str, factory: Callable[[Settings], Storage]) -> None:
        self.storages.add(name, factory, owner=self.current_plugin)

    def add_blob_store(self, name: str, factory: Callable[[Settings], BlobStore]) -> None:
        self.blob_stores.add(name, factory, owner=self.current_plugin)

    def add_directory(self, name: str, factory: Callable[[Settings], Directory]) -> None:
        self.directories.add(name, factory, owner=self.current_plugin)

    def add_mail_inbox(self, name: str, factory: Callable[[Settings], MailInbox]) -> None:
        self.mail_inboxes.add(name, factory, owner=self.current_plugin)

    def add_mail_sender(self, name: str, factory: Callable[[Settings], MailSender]) -> None:
        self.mail_senders.add(name, factory, owner=self.current_plugin)

    def add_sms_sender(self, name: str, factory: Callable[[Settings], SmsSender]) -> None:
        self.sms_senders.add(name, factory, owner=self.current_plugin)

    def add_telephony(self, name: str, factory: Callable[[Settings], Telephony]) -> None:
        self.telephony.add(name, factory, owner=self.current_plugin)

    def add_job_queue(self, name: str, factory: Callable[[Settings], JobQueue]) -> None:
        self.job_queues.add(name, factory, owner=self.current_plugin)

    def add_template_store(self, name: str,
                           factory: Callable[[Settings], TemplateStore]) -> None:
        self.template_stores.add(name, factory, owner=self.current_plugin)

    def describe(self) -> dict[str, Any]:
        return {
            f.kind: f.names()
            for f in (self.storages, self.blob_stores, self.directories, self.mail_inboxes,
                      self.mail_senders, self.sms_senders, self.telephony, self.job_queues,
                      self.template_stores)
        }
