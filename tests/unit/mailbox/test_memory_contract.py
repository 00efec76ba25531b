"""The mailbox contract against the in-memory store: exercises the capability-positive half of the suite
(contacts, appointments, tasks, named properties, categories, change keys) that POP3 cannot."""

from __future__ import annotations

import pytest

from tests.contract.mailbox_contract import MailboxContract
from tests.unit.mailbox.memory_store import MemoryHarness, MemoryStore


class TestMemoryContract(MailboxContract):
    @pytest.fixture
    def harness(self) -> MemoryHarness:
        return MemoryHarness(MemoryStore())
