"""The sync engine under faults and crashes, against the stand-ins (docs/RELIABILITY.md).

A seeded simulation edits both sides, arms throttling / 5xx / dropped connections / latency on both stand-ins,
injects edits while a run is under way, and runs the engine; once the faults are cleared, clean runs must
converge (same fields on both sides, one-to-one links, no duplicates, no lost edit, deletes per the table).
A second test kills a real engine process (SIGKILL) at a chosen request and checks that a clean run repairs it.
Replay one seed with ``D365SYNC_SIM_SEED=<n> pytest tests/simulation/test_engine_faults.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.simulation.engine_harness import (
    Edit,
    Rig,
    World,
    check_converged,
    clean,
    configure,
    describe,
    seeds,
)
from wizard.errors import D365SyncError
from wizard.sandbox import Sandbox
from wizard.sync.engine import RunSummary

CI_SEEDS = [11, 23, 47]
SLOW_SEEDS = list(range(100, 112))
CI_ROUNDS, SLOW_ROUNDS = 4, 8
CRASH_POINTS = [2, 10, 20]  # the k-th request the stand-ins see from the engine process
LOST_DELETE = (
    "suspected product bug, not every time (see docs/RELIABILITY.md): killed at this point, the run has "
    "forgotten the pair of a contact deleted in the mailbox but not saved its cursors, and the next run "
    "re-creates the contact in the mailbox (the user's delete is undone)"
)
#: every request of a typical run (~33); seed 1000+k
SLOW_CRASH_POINTS = [
    pytest.param(k, marks=pytest.mark.xfail(strict=False, reason=LOST_DELETE)) if k == 14 else k
    for k in range(1, 37)
]
TIMEOUT = 60.0


@pytest.fixture
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as box:
        yield box


@pytest.fixture
def rig(sandbox: Sandbox) -> Iterator[Rig]:
    made = configure(sandbox)
    try:
        yield made
    finally:
        made.close()


def _converge(world: World) -> None:
    """Up to two clean runs; then every invariant must hold."""
    for _ in range(2):
        summary = world.rig.run()
        world.ran(summary)
    assert clean(summary), describe(summary)
    problems = check_converged(world)
    assert not problems, "\n".join(problems)
    with world.rig.state() as state:
        world.stats.conflicts = len(state.conflicts())


def _simulate(rig: Rig, seed: int, rounds: int) -> World:
    world = World(rig, seed)
    world.random_edits(6)  # a starting population on both sides
    world.ran(rig.run())
    for _round in range(rounds):
        world.random_edits(world.rnd.randint(2, 6))
        world.arm_faults()
        hook = _midrun_hook(world) if world.rnd.random() < 0.5 else None
        try:
            summary: RunSummary | None = rig.run()
        except D365SyncError as error:  # a run-level failure (e.g. the claim check met a 500): try later
            summary = None
            world.stats.run_status[f"raised {type(error).__name__}"] += 1
        finally:
            rig.sandbox.environments[0].server.on_request = None
            world.clear_faults()
        if hook is not None:
            hook.wait()
        if summary is not None:
            world.ran(summary)
    _converge(world)
    return world


class _Hook:
    """Applies one edit the first time the k-th Dataverse request arrives (in the server's thread)."""

    def __init__(self, k: int, apply: Callable[[], None]) -> None:
        self.k, self.apply, self.seen = k, apply, 0
        self.lock = threading.Lock()
        self.done = threading.Event()

    def __call__(self, method: str, path: str) -> None:
        with self.lock:
            self.seen += 1
            if self.seen != self.k:
                return
        try:
            self.apply()
        finally:
            self.done.set()

    def wait(self) -> None:
        """The edit either happened or the run made fewer than k requests; never waits for nothing."""
        if self.seen >= self.k:
            assert self.done.wait(TIMEOUT)


def _midrun_hook(world: World) -> _Hook | None:
    apply = world.midrun_edit()
    if apply is None:
        return None
    hook = _Hook(world.rnd.randint(2, 20), apply)
    world.rig.sandbox.environments[0].server.on_request = hook
    return hook


@pytest.mark.parametrize("seed", seeds(CI_SEEDS))
def test_engine_converges_under_faults(rig: Rig, seed: int) -> None:
    world = _simulate(rig, seed, CI_ROUNDS)
    print(f"seed {seed}: {world.stats}")
    assert world.stats.faults_hit  # the faults did hit something


@pytest.mark.slow
@pytest.mark.parametrize("seed", seeds(SLOW_SEEDS))
def test_engine_converges_under_faults_many_seeds(rig: Rig, seed: int) -> None:
    world = _simulate(rig, seed, SLOW_ROUNDS)
    print(f"seed {seed}: {world.stats}")


def test_the_checker_sees_a_lost_edit_and_a_duplicate(rig: Rig) -> None:
    """The invariants can fail: an edit made behind the engine's back, and a second copy."""
    world = World(rig, 1)
    record = world.create("contacts", "crm")
    world.ran(rig.run())
    assert check_converged(world) == []
    world.update(record, "crm")  # edited, but never synced: the sides differ
    assert any("!= mailbox" in p for p in check_converged(world))
    record.edits.append(Edit(10**6, "mailbox", "department", "lost"))  # an edit nobody kept
    assert any("neither kept" in p for p in check_converged(world))
    rig.client.create("contacts", {"firstname": "Sim", "lastname": record.name})
    assert any(f"{record.name} x2 in crm" in p for p in check_converged(world))


# ------------------------------------------------------------------------------------------ real crashes


class _KillSwitch:
    """Counts the engine process's requests on both stand-ins; holds the k-th one until the process is dead.

    The held request is then let through, so the stand-in applies it with nobody left to read the answer:
    the nastiest point for a crash ("made remotely, never recorded locally").
    """

    def __init__(self, k: int) -> None:
        self.k, self.seen = k, 0
        self.held = ""
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self, method: str, path: str) -> None:
        with self.lock:
            self.seen += 1
            hold = self.seen == self.k
        if hold:
            self.held = f"{method} {path.split('?', 1)[0]}"
            self.thread = threading.current_thread()
            self.reached.set()
            self.release.wait(TIMEOUT)


def _crash_once(rig: Rig, world: World, k: int, tmp: Path) -> bool:
    """Run the worker, SIGKILL it at request k; True if it was killed (False: the run had fewer requests)."""
    switch = _KillSwitch(k)
    servers = [rig.sandbox.environments[0].server, rig.sandbox.ews.server]
    for server in servers:
        server.on_request = switch
    log = tmp / f"worker-{k}.log"
    try:
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("crash_worker.py"))],
                env=dict(os.environ),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            try:
                waiter = threading.Thread(target=proc.wait, daemon=True)
                waiter.start()
                while not switch.reached.is_set() and waiter.is_alive():
                    switch.reached.wait(0.05)  # bounded polling: the request arrives or the process ends
                    if not waiter.is_alive():
                        break
                killed = switch.reached.is_set()
                if killed:
                    proc.kill()
                proc.wait(TIMEOUT)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(TIMEOUT)
    finally:
        for server in servers:
            server.on_request = None
        switch.release.set()
        if switch.thread is not None:  # the held request is applied (its answer goes nowhere) before going on
            switch.thread.join(TIMEOUT)
            assert not switch.thread.is_alive()
    if not killed:
        assert proc.returncode == 0, log.read_text()
    print(f"k={k}: {'killed holding ' + switch.held if killed else 'run finished first'}")
    return killed


def _crash_scenario(rig: Rig, tmp: Path, seed: int, k: int) -> bool:
    world = World(rig, seed)
    world.random_edits(8)
    world.ran(rig.run())
    world.random_edits(8)
    killed = _crash_once(rig, world, k, tmp)
    _converge(world)
    return killed


@pytest.mark.parametrize("k", CRASH_POINTS)
def test_a_killed_engine_converges_on_the_next_run(rig: Rig, tmp_path: Path, k: int) -> None:
    assert _crash_scenario(rig, tmp_path, 7, k), f"the run made fewer than {k} requests"


@pytest.mark.slow
@pytest.mark.parametrize("k", SLOW_CRASH_POINTS)
def test_a_killed_engine_converges_more_points(rig: Rig, tmp_path: Path, k: int) -> None:
    _crash_scenario(rig, tmp_path, 1000 + k, k)
