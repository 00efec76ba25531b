"""A second computer takes over while the first one synchronizes (issue 11, item 7; docs/RELIABILITY.md).

Two profiles of one user ("computer A" and "computer B": two homes, two state DBs, the same organization and
mailbox). A starts a long first sync of a seeded population; at a random request of that run (the k-th one
either stand-in sees, in the server's thread, with A's request held meanwhile) B claims with "yes"
(``records.claim(force=True)``, what ``d365sync instance claim --yes`` does). Both stay alive: A carries on
until its next claim check, which must stop it ("another computer, … now synchronizes this organization")
with nothing more written to either side; B then synchronizes on a fresh state DB, relinks by crmid what A
made, and converges (the fault simulation's invariants: no duplicates, nothing lost, deletes per the table).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.simulation.engine_harness import (
    MODEL_KINDS,
    Rig,
    World,
    baseline,
    check_converged,
    clean,
    configure,
    describe,
    expand_everything,
    report,
    reset,
    seeds,
)
from wizard.crm import records
from wizard.sandbox import Sandbox
from wizard.settings.enums import RECORD_KINDS
from wizard.sync.engine import RunSummary
from wizard.sync.run_cache import CLAIM_RECHECK

CI_SEEDS = list(range(500, 510))  # 10 seeds in CI
SLOW_SEEDS = list(range(510, 570))
POPULATION = 10  # creates before A's first run: a first sync long enough to be taken over in the middle
B_HOST = "computer-b"
#: EWS operations that change the mailbox (the others only read)
EWS_WRITES = {"CreateItem", "UpdateItem", "DeleteItem", "SendItem", "MoveItem", "CopyItem", "UpdateFolder"}


@pytest.fixture
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as box:
        yield box


class Watch:
    """Both stand-ins' requests in arrival order, and B's claim at the k-th of them (A's request held)."""

    def __init__(self, rig: Rig, k: int, take_over: Any) -> None:
        self.k, self.take_over = k, take_over
        self.lock = threading.Lock()
        self.seen = 0
        self.log: list[tuple[str, str, bool]] = []  # (side, what, a write) after the claim
        self.claimed = False
        self.claiming = False
        self.heartbeats = 0
        self.data_seen = (
            False  # A asked for something besides the claim (its row, WhoAmI): the run is under way
        )
        self.batch_begun = False  # before the claim: A wrote data or began a batch of writes (checked it)
        self.sandbox = rig.sandbox
        self._handle = rig.sandbox.ews.operations.handle

    def __enter__(self) -> Watch:
        self.sandbox.environments[0].server.on_request = self.crm
        self.sandbox.ews.operations.handle = self.ews
        return self

    def __exit__(self, *exc: object) -> None:
        self.sandbox.environments[0].server.on_request = None
        del self.sandbox.ews.operations.handle

    def _arrived(self, side: str, what: str, write: bool) -> None:
        with self.lock:
            if self.claiming:  # B's own requests while it claims
                return
            self.seen += 1
            if self.claimed:
                self.log.append((side, what, write))
            elif write and "/mailboxes" in what:  # a heartbeat: maybe the run's start, then one per batch
                self.heartbeats += 1
                # one after the run's reads began starts a batch of writes (a run whose heartbeat is recent,
                # wizard.sync.run_cache, renews it at its first batch only)
                self.batch_begun = self.batch_begun or self.data_seen
            elif write:
                self.batch_begun = True
            elif "/mailboxes" not in what and "WhoAmI" not in what:
                self.data_seen = True
            take = self.seen == self.k
            if take:
                self.claiming = True
        if take:
            try:
                self.take_over()
            finally:
                with self.lock:
                    self.claiming, self.claimed = False, True

    def crm(self, method: str, path: str) -> None:
        self._arrived("crm", f"{method} {path.split('?', 1)[0]}", method != "GET")

    def ews(self, caller: Any, request: Any) -> Any:
        operation = str(request.tag).rsplit("}", 1)[-1]
        self._arrived("ews", operation, operation in EWS_WRITES)
        return self._handle(caller, request)

    def writes_after_stopping(self) -> list[tuple[str, str, bool]]:
        """A's writes after its first claim check that followed B's claim (the check reads ``mailboxes``)."""
        for position, (side, what, _write) in enumerate(self.log):
            if side == "crm" and what.startswith("GET") and "/mailboxes" in what:
                return [entry for entry in self.log[position:] if entry[2]]
        return []

    def checked_after_claim(self) -> bool:
        return any(side == "crm" and "/mailboxes" in what for side, what, _ in self.log)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One sandbox and the two computers' profiles for all the seeds of this module (see ``computers``)."""
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as box:
        held: dict[str, Any] = {"sandbox": box, "home": tmp_path_factory.mktemp("takeover")}
        try:
            yield held
        finally:
            for rig in held.get("rigs", ()):
                rig.close()


@pytest.fixture
def computers(shared: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[Rig, Rig]:
    """Computer A (holds the claim) and computer B (same user, its own profile and state DB), back to how
    they were right after configuring: the stand-ins emptied of what a seed made, no state DBs, A's claim."""
    home: Path = shared["home"]
    monkeypatch.setenv("D365SYNC_HOME", str(home))  # the test keyring (both profiles' secrets) lives here
    if "rigs" not in shared:
        a = configure(shared["sandbox"], home=home / "computer-a")
        b = configure(shared["sandbox"], home=home / "computer-b", claim=False)
        shared["rigs"], shared["base"] = (a, b), baseline(a)
        return a, b
    a, b = shared["rigs"]
    for rig in (a, b):
        reset(rig, shared["base"])
    records.claim(a.client, a.factory.profile.instance_id, "computer-a", force=True)
    return a, b


def _takeover(a: Rig, b: Rig, seed: int) -> World:
    world = World(a, seed)
    world.draw_policies()
    b.factory.profile.sync.conflict_policy = dict(world.policies)
    b.factory.save()
    for _ in range(POPULATION):  # A's first sync: every record and message new on one side
        world.create(world.rnd.choice(MODEL_KINDS), world.rnd.choice(["crm", "mailbox"]))
    b_instance = b.factory.profile.instance_id

    def take_over() -> None:
        records.claim(b.client, b_instance, B_HOST, force=True)

    # the k-th request of A's run (~30-80 requests); a third of the seeds in the first dozen, before A's
    # first batch of writes (its sends and tracked messages come early)
    k = world.rnd.randint(2, 12) if world.rnd.random() < 0.35 else world.rnd.randint(2, 60)
    with Watch(a, k, take_over) as watch:
        first = a.run()
    world.ran(first)
    taken_mid_run = watch.claimed
    if not watch.claimed:  # A's run made fewer than k requests: B takes over after it
        take_over()
    assert not watch.writes_after_stopping(), watch.log  # nothing written once A saw the claim gone
    if taken_mid_run and not watch.batch_begun:
        # no batch of A's was under way: its first one checks the claim and writes nothing
        assert not [e for e in watch.log if e[2] and "/mailboxes" not in e[1]], watch.log
        assert first.status == "not_sync_computer", describe(first)
    if watch.checked_after_claim():
        assert first.status == "not_sync_computer", describe(first)
        stopped = [k for k in first.kinds if f"Another computer, {B_HOST}, now synchronizes" in k.message]
        assert stopped, first.kinds
        world.stats.run_status["A stopped mid-run"] += 1
    # A stays alive and tries again at its next scheduled run (a run sooner than CLAIM_RECHECK may take
    # the claim it confirmed as still its own, until its first write): it writes nothing and says why
    with Watch(a, 10**9, lambda: None) as again_watch:
        again_watch.claimed = True  # log everything
        again = a.run(later=CLAIM_RECHECK + timedelta(minutes=1))
    assert again.status == "not_sync_computer", describe(again)
    assert not [e for e in again_watch.log if e[2]], again_watch.log
    # B synchronizes from a fresh state DB: relinks what A made, creates the rest once
    world.rig = b
    world.ran(b.run())
    world.random_edits(world.rnd.randint(2, 5))
    world.ran(b.run())
    _converge(world)
    report(
        f"takeover seed {seed}",
        world,
        k=k,
        taken_mid_run=taken_mid_run,
        before_a_wrote=taken_mid_run and not watch.batch_begun,
        a_status=first.status,
    )
    return world


def _converge(world: World) -> None:
    expand_everything(world)
    summary: RunSummary | None = None
    for _ in range(2):
        summary = world.rig.run()
        world.ran(summary)
    assert summary is not None and clean(summary), describe(summary) if summary else None
    problems = check_converged(world)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("seed", seeds(CI_SEEDS))
def test_a_takeover_mid_run_stops_the_first_computer_and_duplicates_nothing(
    computers: tuple[Rig, Rig], seed: int
) -> None:
    _takeover(*computers, seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", seeds(SLOW_SEEDS))
def test_a_takeover_mid_run_more_seeds(computers: tuple[Rig, Rig], seed: int) -> None:
    _takeover(*computers, seed)


def test_the_first_run_on_a_fresh_state_db_relinks_by_crmid(sandbox: Sandbox, tmp_path: Path) -> None:
    """B's first run after its claim finds A's mailbox items by crmid: it creates nothing on either side."""
    a = configure(sandbox, home=tmp_path / "computer-a")
    b = configure(sandbox, home=tmp_path / "computer-b", claim=False)
    try:
        world = World(a, 7)
        world.random_edits(POPULATION)
        assert clean(a.run())
        records.claim(b.client, b.factory.profile.instance_id, B_HOST, force=True)
        summary = b.run()
        assert clean(summary), describe(summary)
        created = {
            (k.kind, side): getattr(k, side).created
            for k in summary.kinds
            for side in ("to_crm", "to_mailbox")
        }
        assert not any(created.values()), created
        with b.state() as state:
            assert sum(state.count_links(kind) for kind in RECORD_KINDS) > 0
    finally:
        a.close()
        b.close()
