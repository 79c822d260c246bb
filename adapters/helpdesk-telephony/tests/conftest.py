"""The telephony app in a real HTTP server on 127.0.0.1, over a helpdesk on in-memory storage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIServer

import pytest

from helpdesk_core.app import Helpdesk
from helpdesk_core.domain import Contact, EntityKind, EntityRef, Order, Organisation
from helpdesk_core.inmemory import FakeClock, InMemoryDirectory
from helpdesk_core.settings import Settings
from helpdesk_telephony import SipgateWebhook, TelephonyApp, TwilioWebhook
from telephony_support import AUTH_TOKEN, JANA, T0, VOICE_TWIML, Running, StartApp, serve


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def directory() -> InMemoryDirectory:
    shop = InMemoryDirectory()
    cafe = shop.add_organisation(Organisation.create("Kavárna Nováková"))
    jana = shop.add_customer(Contact.create(name="Jana Nováková", email="jana@example.cz",
                                            phone=JANA, language="cs",
                                            organisation_id=cafe.id))
    for number, summary in (("2026-00041", "Coffee grinder"), ("2026-00042", "Kettle")):
        shop.add_order(Order(ref=EntityRef(EntityKind.ORDER, "eshop", number), number=number,
                             customer_id=jana.id, summary=summary))
    return shop


@pytest.fixture
def helpdesk(clock: FakeClock, directory: InMemoryDirectory) -> Iterator[Helpdesk]:
    # Imported here: importing the submodule while pytest loads this conftest would shadow
    # the lazily resolved ``helpdesk_core.bootstrap`` function for every later test module.
    from helpdesk_core.bootstrap import bootstrap

    made = bootstrap(Settings(storage="memory", autoload_plugins=False), directory=directory,
                     clock=clock, environ={})
    yield made
    made.close()




@pytest.fixture
def start_app(helpdesk: Helpdesk) -> Iterator[StartApp]:
    servers: list[WSGIServer] = []

    def start(**options: Any) -> Running:
        pushed: list[dict[str, Any]] = []
        settings: dict[str, Any] = {
            "sipgate": SipgateWebhook(default_region="DE", agents={"w0": "petra", "w1": "tomas"}),
            "twilio": TwilioWebhook(auth_token=AUTH_TOKEN, voice_twiml=VOICE_TWIML),
            "authorize": lambda environ: environ.get("HTTP_X_AGENT") or None,
            "on_screen_pop": lambda pop: pushed.append(pop.to_dict()),
            **options,
        }
        app = TelephonyApp(helpdesk, **settings)
        server, url = serve(app)
        servers.append(server)
        return Running(app=app, url=url, pushed=pushed)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
