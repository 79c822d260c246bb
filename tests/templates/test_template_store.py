"""The template-store contract against the in-memory reference store."""

from __future__ import annotations

import pytest

from helpdesk_core.inmemory import InMemoryTemplateStore
from helpdesk_core.testing.template_contract import TemplateStoreContract


class TestInMemoryTemplateStore(TemplateStoreContract):
    @pytest.fixture
    def template_store(self) -> InMemoryTemplateStore:
        return InMemoryTemplateStore()
