"""Round trips overlapped (issue 15 item 2) against the stand-ins: bulk requests of one service really are on
the wire together (the stand-in counts them), never more than the profile's setting or the server's
``x-ms-dop-hint``; answers land on the right items; a throttled answer holds back every thread; a request
that fails among several leaves the others' answers; the engine's CRM creates overlap and still journal and
link every row."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.integration.test_engine import Setup
from wizard.mailbox.base import TRACKED_CATEGORY, ContactItem, FolderKind
from wizard.sandbox.ews._soap import t
from wizard.settings.enums import Kind
from wizard.sync.claim import ClaimLost
from wizard.sync.records import apply
from wizard.sync.records.apply import PlanExecutor
from wizard.sync.run import RunContext


def _contacts(n: int, tag: str = "K", categories: list[str] | None = None) -> list[ContactItem]:
    return [
        ContactItem(id="", given_name=f"{tag}{i:04d}", surname="Overlap", categories=list(categories or []))
        for i in range(n)
    ]


def _arrivals(server: Any, path_part: str = "") -> list[float]:
    """Arrival times of the requests the server gets from now on (its on_request hook)."""
    times: list[float] = []
    lock = threading.Lock()

    def seen(method: str, path: str) -> None:
        if path_part in path:
            with lock:
                times.append(time.monotonic())

    server.on_request = seen
    return times


def _store_with(setup: Setup, concurrency: int) -> Any:
    setup.factory.profile.sync.concurrent_requests = concurrency
    setup.factory.save()
    binding = setup.factory.profile.mailbox
    assert binding is not None
    return setup.factory.mailbox_store(binding)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_ews_bulk_creates_overlap_up_to_the_setting_and_answers_land_on_their_items(
    setup: Setup, concurrency: int
) -> None:
    ews = setup.sandbox.ews
    store = _store_with(setup, concurrency)
    try:
        store.check()
        ews.server.latency = 0.05
        ews.server.reset_counts()
        contacts = _contacts(700)
        results = store.create_many(FolderKind.CONTACTS, contacts)
    finally:
        ews.server.latency = 0.0
        store.close()
    assert len(results) == 700 and all(r.ok for r in results)
    assert ews.server.request_count == 7  # 100 a request, as before
    if concurrency == 1:
        assert ews.server.most_in_flight == 1
    else:
        assert 1 < ews.server.most_in_flight <= 4
    for contact, result in zip(contacts, results, strict=True):
        assert result.value is not None and result.value.given_name == contact.given_name
        stored = ews.store.get(result.id or "")
        assert stored is not None and stored.element.findtext(t("GivenName")) == contact.given_name


def test_ews_reads_overlap_and_come_back_in_order(setup: Setup) -> None:
    ews = setup.sandbox.ews
    created = setup.store.create_many(FolderKind.CONTACTS, _contacts(450, "R"))
    ids = [r.id or "" for r in created]
    ews.server.latency = 0.05
    ews.server.reset_counts()
    try:
        read = setup.store.get_many(FolderKind.CONTACTS, list(reversed(ids)))
    finally:
        ews.server.latency = 0.0
    assert 1 < ews.server.most_in_flight <= 4
    assert [r.id for r in read] == list(reversed(ids))
    assert [r.value.given_name for r in read if isinstance(r.value, ContactItem)] == [
        f"R{i:04d}" for i in reversed(range(450))
    ]


def test_an_ews_busy_answer_holds_back_every_thread(setup: Setup) -> None:
    ews = setup.sandbox.ews
    setup.store.check()
    arrivals = _arrivals(ews.server, "/EWS/")
    ews.server.faults.throttle(retry_after=1.0, remaining=1, path_contains="/EWS/")
    try:
        results = setup.store.create_many(FolderKind.CONTACTS, _contacts(800, "B"))
    finally:
        ews.server.faults.clear()
        ews.server.on_request = None
    assert all(r.ok for r in results)
    first = arrivals[0]
    # the requests sent with the throttled one (up to 3 more) went out at once; all later ones, the throttled
    # one's retry included, waited for the back-off the server asked for
    early = [a for a in arrivals if a - first < 0.5]
    assert len(early) <= 4
    assert all(a - first >= 0.9 for a in arrivals if a - first >= 0.5)
    assert len(arrivals) == 9  # 8 CreateItem + the retry


def test_a_failed_ews_request_among_several_keeps_the_others_answers(setup: Setup) -> None:
    ews = setup.sandbox.ews
    setup.store.check()
    ews.server.latency = 0.05
    ews.server.faults.drop(remaining=1, path_contains="/EWS/")
    try:
        results = setup.store.create_many(FolderKind.CONTACTS, _contacts(400, "F"))
    finally:
        ews.server.faults.clear()
        ews.server.latency = 0.0
    assert len(results) == 400
    failed = [n for n, r in enumerate(results) if not r.ok]
    # a dropped connection is retried by exchangelib or fails its own chunk: never the others' items
    assert len(failed) in (0, 100)
    if failed:
        assert failed == list(range(failed[0], failed[0] + 100)) and failed[0] % 100 == 0
    created = [r for r in results if r.ok]
    assert all(ews.store.get(r.id or "") is not None for r in created)


def test_dataverse_batches_overlap_but_never_past_the_dop_hint(setup: Setup) -> None:
    env = setup.sandbox.environments[0].server
    env.dop_hint = 2
    setup.client.whoami()  # any answer carries the hint
    env.latency = 0.05
    env.reset_counts()
    try:
        results = setup.client.create_many(
            [("contacts", {"firstname": f"D{n}", "lastname": "Hint"}) for n in range(12)], max_requests=2
        )
    finally:
        env.latency = 0.0
        env.dop_hint = 4
    assert all(r.ok for r in results)
    assert env.request_count == 6
    assert env.most_in_flight == 2


def test_a_dataverse_429_holds_back_every_thread(setup: Setup) -> None:
    env = setup.sandbox.environments[0].server
    setup.client.whoami()
    arrivals = _arrivals(env, "$batch")
    env.faults.throttle(retry_after=1, remaining=1, path_contains="$batch")
    try:
        results = setup.client.create_many(
            [("contacts", {"firstname": f"P{n}", "lastname": "Pause"}) for n in range(16)], max_requests=2
        )
    finally:
        env.faults.clear()
        env.on_request = None
    assert all(r.ok for r in results)
    first = arrivals[0]
    early = [a for a in arrivals if a - first < 0.5]
    assert len(early) <= 4
    assert all(a - first >= 0.9 for a in arrivals if a - first >= 0.5)
    assert len(arrivals) == 9  # 8 $batch + the retry


def test_engine_crm_creates_overlap_and_every_row_is_journaled_and_linked(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apply, "CREATE_BATCH", 10)  # 4 parts of 10 instead of one of 1,000
    setup.store.create_many(FolderKind.CONTACTS, _contacts(40, "E", [TRACKED_CATEGORY]))  # "track in CRM"
    env = setup.sandbox.environments[0].server
    env.latency = 0.05
    env.reset_counts()
    try:
        summary = setup.run()
    finally:
        env.latency = 0.0
    assert summary.status == "ok", [(k.kind, k.message) for k in summary.kinds]
    batches = [p for _, p in env.request_log if p.endswith("$batch")]
    assert len(batches) >= 4
    assert env.most_in_flight > 1
    state = setup.state()
    try:
        assert state.pending_creates() == []
        assert len(state.links(Kind.CONTACTS)) == 40
    finally:
        state.close()


def test_a_failed_crm_part_among_several_in_flight_keeps_the_others_links(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apply, "CREATE_BATCH", 10)
    setup.store.create_many(FolderKind.CONTACTS, _contacts(40, "X", [TRACKED_CATEGORY]))
    env = setup.sandbox.environments[0].server
    # only the parts are slow, long enough that all of them are on the wire before the failed one's answer
    # comes back, even on a loaded machine; the claim's heartbeat before each part is not (at 50 ms on every
    # request a loaded run saw only the failed part and one more sent)
    env.faults.latency(0.5, path_contains="$batch")
    env.faults.error(status=500, remaining=1, path_contains="$batch")
    try:
        first = setup.run()
    finally:
        env.faults.clear()
    assert first.status != "error" or first.kinds
    state = setup.state()
    try:
        linked = len(state.links(Kind.CONTACTS))
        pending = len(state.pending_creates(Kind.CONTACTS))
    finally:
        state.close()
    # the parts answered are linked (the ones sent with the failed one at least); the failed part's ten stay
    # pending (its outcome is unknown); a part not yet sent when the error came back was not sent at all
    assert pending == 10, (linked, pending)
    assert linked in (20, 30), (linked, pending)
    second = setup.run()
    assert second.status == "ok", [(k.kind, k.message) for k in second.kinds]
    state = setup.state()
    try:
        assert len(state.links(Kind.CONTACTS)) == 40
        assert state.pending_creates() == []
    finally:
        state.close()
    crm = [
        r for r in setup.client.query("contacts", select=["firstname"]) if str(r["firstname"]).startswith("X")
    ]
    assert len(crm) == 40  # no duplicates


def test_a_claim_lost_between_crm_parts_stops_sending_and_records_the_parts_on_the_wire(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim is checked before each part is sent: once it is lost nothing more is sent, and the parts
    already on the wire are answered and linked (their journal entries done), none left behind."""
    monkeypatch.setattr(apply, "CREATE_BATCH", 10)
    setup.store.create_many(FolderKind.CONTACTS, _contacts(60, "L", [TRACKED_CATEGORY]))
    env = setup.sandbox.environments[0].server
    checks = {"n": 0}
    original = RunContext.before_writes

    def before_writes(ctx: RunContext) -> None:
        original(ctx)
        if ctx.crm is not None and in_crm_creates.is_set():
            checks["n"] += 1
            if checks["n"] == 2:  # before part 3: parts 1 and 2 are on the wire (or answered)
                raise ClaimLost("other-computer")

    in_crm_creates = threading.Event()
    create_many = PlanExecutor._create_in_crm_many

    def watched(self: Any, *args: Any, **kwargs: Any) -> Any:
        in_crm_creates.set()
        try:
            return create_many(self, *args, **kwargs)
        finally:
            in_crm_creates.clear()

    monkeypatch.setattr(RunContext, "before_writes", before_writes)
    monkeypatch.setattr(PlanExecutor, "_create_in_crm_many", watched)
    env.latency = 0.05
    env.reset_counts()
    try:
        summary = setup.run()
    finally:
        env.latency = 0.0
    assert summary.status != "ok"
    batches = [p for _, p in env.request_log if p.endswith("$batch")]
    assert len(batches) == 2  # the first part (checked by the caller) and the second; not the third
    state = setup.state()
    try:
        assert len(state.links(Kind.CONTACTS)) == 20
        assert state.pending_creates() == []
    finally:
        state.close()


def test_a_busy_server_never_has_the_session_pool_shrunk_under_the_threads(setup: Setup) -> None:
    """exchangelib shrinks its session pool on ErrorServerBusy: under the pool's lock it waits for a free
    session to close, while the threads holding the sessions wait for that lock to shrink it too (a hang,
    seen once in CI-like runs of the test above). The store's protocol keeps its pool; the gate's pause slows
    every request instead."""
    setup.store.check()
    protocol = setup.store._connect().protocol  # type: ignore[attr-defined]
    held = [protocol.get_session() for _ in range(protocol._session_pool_size)]  # every request in flight
    done = threading.Event()

    def shrink() -> None:
        protocol.decrease_poolsize()
        done.set()

    threading.Thread(target=shrink, daemon=True).start()
    try:
        assert done.wait(5)
    finally:
        for session in held:
            protocol.release_session(session)
    assert protocol._session_pool_size == len(held)
