"""What a run holds in memory (issue 15, item 4): a run with nothing to do reads no merge base at all; a run
with one change reads the bases that change needs, not every link's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.test_engine import Setup, _configure, _new_contact, _ok
from wizard.sandbox import Sandbox
from wizard.sync.state import StateDB


@pytest.fixture
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as box:
        s = _configure(box)
        try:
            yield s
        finally:
            s.store.close()


@pytest.fixture
def base_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The merge bases each state DB read, noted when it is closed (the engine's StateDB.base_reads seam)."""
    reads: list[int] = []
    close = StateDB.close

    def noting(self: StateDB) -> None:
        reads.append(self.base_reads)
        close(self)

    monkeypatch.setattr(StateDB, "close", noting)
    return reads


def test_a_quiet_run_reads_no_merge_base_and_a_change_reads_only_its_own(
    setup: Setup, base_reads: list[int]
) -> None:
    ids = [_new_contact(setup.client, "Ada", f"Lovelace{n}") for n in range(12)]
    _ok(setup.run())  # the initial sync creates and links them
    _ok(setup.run())  # the run after it
    base_reads.clear()
    _ok(setup.run())
    assert base_reads and sum(base_reads) == 0
    setup.client.update("contacts", ids[0], {"jobtitle": "Analyst"})
    _ok(setup.run())
    # the changed pair's base for the merge, and the executor's checks of that pair: never the other 11
    assert 0 < sum(base_reads) <= 3, base_reads
    assert setup.contacts()["Lovelace0"].job_title == "Analyst"
