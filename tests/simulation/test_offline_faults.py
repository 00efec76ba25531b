"""Go online under faults and kills, against the Dataverse stand-in (issue 14, docs/RELIABILITY.md "Offline").

Per seed: server records go offline; offline creates (an account and a contact referring to it, more contacts),
updates and deletes interleave with server updates and deletes; faults are armed on the stand-in (429 with
Retry-After, 503, dropped connections, latency); go-online runs in its own process and is SIGKILLed while the
stand-in holds a request chosen by the seed, once or twice; it runs again with the faults still armed, then
without them until nothing is pending. Then: no duplicate, no lost change — every field changed offline is in
Dynamics 365 or in the conflict log (decided by the policy the seed drew, or waiting for the user), every
offline delete happened or waits for the user, no server edit was overwritten without a logged decision.
Replay one seed with ``D365SYNC_SIM_SEED=<n> pytest tests/simulation/test_offline_faults.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.simulation.engine_harness import seeds
from tests.simulation.offline_harness import OfflineWorld, fast_dataverse
from tests.support.profiles import signed_in_profile
from wizard.app import offline
from wizard.app.factory import Factory
from wizard.errors import D365SyncError
from wizard.sandbox import Sandbox
from wizard.settings.enums import ConflictPolicy

CI_SEEDS = list(range(1, 11))
SLOW_SEEDS = list(range(100, 150))
MAX_CLEAN_RUNS = 3


@pytest.fixture
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as box:
        yield box


@pytest.fixture
def factory(sandbox: Sandbox, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Factory:
    """The first user signed in to Contoso Sales; retry waits recorded, not slept."""
    monkeypatch.setattr(Factory, "dataverse", Factory.dataverse)  # undone after the test
    fast_dataverse(Factory)
    return signed_in_profile(sandbox)


def _simulate(factory: Factory, sandbox: Sandbox, seed: int, tmp_path: Path) -> None:
    world = OfflineWorld(factory, sandbox, seed)
    world.setup()
    world.interleaved_edits()
    world.arm_faults()
    for _ in range(world.rnd.randint(1, 2)):
        k, from_batch = world.kill_point()
        world.killed_run(k, tmp_path / "worker.log", from_batch=from_batch)
    try:
        world.go_online()  # the faults may still be armed: it may fail, but must lose nothing
    except D365SyncError as error:
        print(f"go online under faults: {error}")
    world.clear_faults()
    for _ in range(MAX_CLEAN_RUNS):
        result = world.go_online()
        assert result.replay.failed == [], result.replay.failed
        if offline.offline_status(factory).queued == offline.offline_status(factory).held:
            break
    problems = world.check()
    world.report(problems)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("seed", seeds(CI_SEEDS))
def test_go_online_under_faults_and_kills_loses_nothing(
    factory: Factory, sandbox: Sandbox, seed: int, tmp_path: Path
) -> None:
    _simulate(factory, sandbox, seed, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", seeds(SLOW_SEEDS))
def test_go_online_under_faults_and_kills_loses_nothing_more_seeds(
    factory: Factory, sandbox: Sandbox, seed: int, tmp_path: Path
) -> None:
    _simulate(factory, sandbox, seed, tmp_path)


def test_a_merged_update_lost_on_the_way_keeps_its_offline_only_fields(
    factory: Factory, sandbox: Sandbox
) -> None:
    """Under "ask me", a record with a field changed on both sides and one changed offline only: the merge
    holds the first for the user and sends the second. When that send never reaches the service (the
    connection dropped), the offline-only field must stay queued, not vanish from the queue and the local row."""
    factory.profile.sync.set_policy(ConflictPolicy.ASK)
    factory.save()
    client = factory.dataverse(factory.require_sync_org())
    row_id = client.create("contacts", {"lastname": "Merge", "jobtitle": "j0", "telephone1": "t0"})
    offline.go_offline(factory)
    offline.update_record(
        factory, "contacts", row_id, {"jobtitle": "offline job", "telephone1": "offline phone"}
    )
    client.update("contacts", row_id, {"jobtitle": "server job"})
    batches = [0]

    def drop_the_merged_write(method: str, path: str) -> None:
        if "$batch" in path:
            batches[0] += 1
            if batches[0] == 3:  # 1: the update (412), 2: the server row, 3: the merged update
                sandbox.faults.drop(remaining=1, path_contains="$batch")

    server = sandbox.environments[0].server
    server.on_request = drop_the_merged_write
    try:
        with pytest.raises(D365SyncError):
            offline.go_online(factory)
    finally:
        server.on_request = None
    assert client.get("contacts", row_id, select=["telephone1"])["telephone1"] == "t0"  # nothing arrived
    offline.go_online(factory)
    row = client.get("contacts", row_id, select=["jobtitle", "telephone1"])
    assert row["telephone1"] == "offline phone"
    assert row["jobtitle"] == "server job"
    open_fields = [(c.field, c.local_value) for c in offline.list_conflicts(factory, unresolved_only=True)]
    assert ("jobtitle", "offline job") in open_fields
