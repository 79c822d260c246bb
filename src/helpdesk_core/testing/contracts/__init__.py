"""The contract suites: what every storage-side adapter must do, as tests it runs itself.

One module per repository protocol (in the manner of SQLAlchemy's dialect test suite), each
with its test classes and a ``COVERS`` tuple naming the protocols it checks:

===================== =========================================================
module                covers
===================== =========================================================
``tickets``           TicketRepository (round trip, saving, history, articles, moves, queue)
``contacts``          ContactRepository, OrganisationRepository
``incident_types``    IncidentTypeRepository
``sequences``         SequenceAllocator
``message_index``     MessageIndex
``mail_staging``      MailStaging
``automatic_senders`` AutomaticSenders
``outbox``            OutboxRepository
``sla``               SlaRepository
``knowledge``         KnowledgeBase (articles, revisions, the version check, filters)
``portal_links``      PortalLinkRepository
``erasure``           ErasureStore (finding and rewriting a contact's stored data)
``unit_of_work``      UnitOfWork, Storage (commit, rollback, read-only, other instances)
``blobs``             BlobStore
``templates``         TemplateStore
``model``             the whole storage against the in-memory model (a state machine)
``odd_values``        keys that cannot exist and hostile queue filters, through the core's
                      unit of work: the same answer as in-memory, never a storage error
===================== =========================================================

An adapter runs them all with one import and one fixture::

    # tests/test_contract.py of an adapter
    import pytest

    from helpdesk_core.testing.contracts import *  # noqa: F403
    from helpdesk_core.testing.contracts import Backend, Capabilities


    @pytest.fixture(scope="session", params=["kv"])
    def helpdesk_backend(request):
        return Backend(name=request.param, make_storage=fresh_kv_storage,
                       capabilities=Capabilities(concurrent_writers=False),
                       blob_store=KvBlobStore.for_storage, template_store=KvTemplateStore,
                       reopen=KvStorage.reopen)

The star import brings the test classes and the fixtures they use (``storage``,
``blob_store``, ``template_store``, ``storage_capabilities``, all made from
``helpdesk_backend``). An adapter that implements only some protocols imports those modules
instead (``from helpdesk_core.testing.contracts.tickets import *``) together with the
fixtures (``from helpdesk_core.testing.contracts.backend import *``).

Nothing in these suites skips. A test that concerns an optional feature branches on
``storage_capabilities.offers(flag)`` and checks the feature where the backend offers it and
the behaviour the adapter declares instead where it lacks it (see
:mod:`~helpdesk_core.testing.contracts.capabilities`).
"""

from helpdesk_core.testing.contracts.automatic_senders import TestAutomaticSenders
from helpdesk_core.testing.contracts.backend import (
    Backend,
    blob_store,
    storage,
    storage_capabilities,
    template_store,
)
from helpdesk_core.testing.contracts.blobs import TestBlobStore
from helpdesk_core.testing.contracts.capabilities import Capabilities
from helpdesk_core.testing.contracts.contacts import (
    TestContactRepository,
    TestOrganisationRepository,
)
from helpdesk_core.testing.contracts.erasure import TestErasureStore
from helpdesk_core.testing.contracts.incident_types import TestIncidentTypeRepository
from helpdesk_core.testing.contracts.knowledge import TestKnowledgeBase
from helpdesk_core.testing.contracts.mail_staging import TestMailStaging
from helpdesk_core.testing.contracts.message_index import TestMessageIndex
from helpdesk_core.testing.contracts.model import TestStorageAgainstModel
from helpdesk_core.testing.contracts.odd_values import TestOddFilters, TestOddKeys
from helpdesk_core.testing.contracts.outbox import TestOutboxRepository
from helpdesk_core.testing.contracts.portal_links import TestPortalLinkRepository
from helpdesk_core.testing.contracts.sequences import TestSequenceAllocator
from helpdesk_core.testing.contracts.sla import TestSlaRepository
from helpdesk_core.testing.contracts.templates import TestTemplateStore
from helpdesk_core.testing.contracts.tickets import (
    TestArticleMoves,
    TestTicketQueue,
    TestTicketRepository,
)
from helpdesk_core.testing.contracts.unit_of_work import TestUnitOfWork

__all__ = [
    "Backend",
    "Capabilities",
    "TestArticleMoves",
    "TestAutomaticSenders",
    "TestBlobStore",
    "TestContactRepository",
    "TestErasureStore",
    "TestIncidentTypeRepository",
    "TestKnowledgeBase",
    "TestMailStaging",
    "TestMessageIndex",
    "TestOddFilters",
    "TestOddKeys",
    "TestOrganisationRepository",
    "TestOutboxRepository",
    "TestPortalLinkRepository",
    "TestSequenceAllocator",
    "TestSlaRepository",
    "TestStorageAgainstModel",
    "TestTemplateStore",
    "TestTicketQueue",
    "TestTicketRepository",
    "TestUnitOfWork",
    "blob_store",
    "storage",
    "storage_capabilities",
    "template_store",
]
