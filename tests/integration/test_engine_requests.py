"""What a sync run costs in requests against the stand-ins (DESIGN section 4: "a run with no changes
costs one request per kind and side"; issue 15 item 5).

Counted on the Dataverse side: every request to the environment's Web API, by entity set. A run with
nothing to do, with the run cache fresh (``wizard.sync.run_cache``), makes only the change read of each
kind's table (``GET /api/data/v9.2/<contacts|appointments|tasks>`` with the delta link): no claim read
or heartbeat, no ``WhoAmI``, ``usersettings`` or ``userqueries``. On the EWS side every request is
counted by SOAP operation: one ``SyncFolderItems`` per folder, and no ``ConvertId`` (the server's
version is kept across runs). The authority (sign-in) sees nothing. What the first run and a run with a
stale cache read on top is in ``PER_RUN`` and tested separately.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.test_engine import KINDS, Setup, _configure, _new_contact, _ok
from wizard.app.worker import ProcessEngine
from wizard.crm import records
from wizard.mailbox.base import TRACKED_CATEGORY, ContactItem, FolderKind, LinkState
from wizard.sandbox import Sandbox
from wizard.settings.enums import Kind
from wizard.sync.run import NullReporter
from wizard.sync.run_cache import CLAIM_RECHECK, FRESH_FOR, HEARTBEAT_EVERY

PER_RUN = ("mailboxes", "userqueries", "usersettings", "WhoAmI")
QUIET = {"contacts": 1, "appointments": 1, "tasks": 1}
QUIET_EWS = {"SyncFolderItems": len(KINDS)}
#: EWS operations that change the mailbox
EWS_WRITES = {"CreateItem", "UpdateItem", "DeleteItem", "SendItem", "MoveItem", "CopyItem", "UpdateFolder"}


@pytest.fixture
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as box:
        s = _configure(box)
        try:
            yield s
        finally:
            s.store.close()


def _kind_requests(log: list[tuple[str, str]], *, per_run: bool = False) -> Counter[str]:
    """Dataverse requests per entity set; ``per_run``: with the method, only the per-run reads (PER_RUN)."""
    counts: Counter[str] = Counter()
    for method, path in log:
        resource = path.split("?", 1)[0].split("/api/data/v9.2/", 1)[-1].split("(", 1)[0]
        if not per_run:
            counts[resource] += 1
        elif any(resource.startswith(name) for name in PER_RUN):
            counts[f"{method} {resource}"] += 1
    return counts


def _measure(
    setup: Setup,
    *,
    fresh: bool = False,
    later: timedelta = timedelta(0),
    status: str = "ok",
    child: bool = False,
) -> tuple[Counter[str], Counter[str], list[tuple[str, str]]]:
    """(Dataverse requests per entity set, EWS operations by name, the Dataverse log) of one run, in a new
    engine as each ``sync --once`` builds one; ``later``: the run's clock that much ahead (the run cache's
    entries that much older); ``child``: in a process of its own, as the status window runs it
    (``wizard.app.worker``). No request reaches the authority (a cached token)."""
    env = setup.sandbox.environments[0].server
    ews = setup.sandbox.ews
    authority = setup.sandbox.authority.server
    operations: Counter[str] = Counter()
    handle = ews.operations.handle

    def counting(caller: Any, request: Any) -> Any:
        operations[str(request.tag).rsplit("}", 1)[-1]] += 1
        return handle(caller, request)

    env.reset_counts()
    ews.server.reset_counts()
    authority.reset_counts()
    ews.operations.handle = counting
    try:
        if child:
            summary = ProcessEngine(NullReporter(), home=setup.factory.where.home).run_once(
                KINDS, fresh=fresh
            )
        else:
            with setup.engine() as engine:
                if later:
                    engine.clock = lambda: datetime.now(UTC) + later
                summary = engine.run_once(KINDS, fresh=fresh)
        if status == "ok":
            _ok(summary)
        else:
            assert summary.status == status, summary
    finally:
        del ews.operations.handle
    assert sum(operations.values()) == ews.server.request_count  # one SOAP operation per request
    assert authority.request_log == []
    return _kind_requests(list(env.request_log)), operations, list(env.request_log)


def test_a_run_with_no_changes_costs_one_request_per_kind_and_side(setup: Setup) -> None:
    for n in range(3):
        _new_contact(setup.client, "Ada", f"Lovelace{n}")
    first, _, _ = _measure(setup)  # the initial sync reads the whole scope
    assert sum(first.values()) > 3
    # The run after one that wrote to the mailbox reads nothing back: the catch-up past the engine's own
    # writes lists the written items with their change keys, equal to the ones stored on the links.
    # Every request counted: the claim, WhoAmI, the user's settings and filters are kept from the run
    # before (the run cache), the server's version too (no ConvertId).
    crm, ews, log = _measure(setup)
    assert crm == QUIET, log
    assert ews == QUIET_EWS
    crm, ews, log = _measure(setup)
    assert crm == QUIET, log
    assert ews == QUIET_EWS


def test_the_status_windows_runs_are_quiet_too(setup: Setup) -> None:
    """The status window runs each sync in a process of its own (``wizard.app.worker``): what one run keeps
    is in the profile's cache folder, so its runs with nothing to do cost what the command line's cost."""
    _new_contact(setup.client, "Ada", "Lovelace")
    _measure(setup, child=True)
    for _ in range(2):
        crm, ews, log = _measure(setup, child=True)
        assert crm == QUIET, log
        assert ews == QUIET_EWS
    _, _, log = _measure(setup, child=True, fresh=True)  # Sync now: read again
    assert set(_kind_requests(log, per_run=True)) == {
        "GET mailboxes",
        "GET usersettingscollection",
        "GET userqueries",
    }, log


def test_the_first_run_and_a_stale_cache_read_the_per_run_rows_once(setup: Setup) -> None:
    _new_contact(setup.client, "Ada", "Lovelace")
    _measure(setup)  # the initial sync (it makes the default filters)
    setup.factory.save()  # the wizard's Finish saves the profile: nothing kept
    # The claim, WhoAmI, the settings, the filters are read; the heartbeat the initial sync wrote is recent:
    # it waits for a write.
    _, ews, log = _measure(setup)
    assert _kind_requests(log, per_run=True) == {
        "GET WhoAmI": 1,
        "GET mailboxes": 1,
        "GET usersettingscollection": 1,
        "GET userqueries": 1,
    }, log
    assert "ConvertId" not in ews  # kept since the setup's bind
    # Older than FRESH_FOR and CLAIM_RECHECK: the claim and the user's settings and filters are read
    # again (WhoAmI is kept: the same signed-in account), the heartbeat is recent enough to wait.
    later = max(FRESH_FOR, CLAIM_RECHECK) + timedelta(minutes=1)
    assert later < HEARTBEAT_EVERY
    crm, ews, log = _measure(setup, later=later)
    assert _kind_requests(log, per_run=True) == {
        "GET mailboxes": 1,
        "GET usersettingscollection": 1,
        "GET userqueries": 1,
    }, log
    assert crm - Counter({"mailboxes": 1, "usersettingscollection": 1, "userqueries": 1}) == QUIET
    assert ews == QUIET_EWS
    # Sync now (fresh) reads them again too, without waiting.
    _, _, log = _measure(setup, fresh=True)
    assert set(_kind_requests(log, per_run=True)) == {
        "GET mailboxes",
        "GET usersettingscollection",
        "GET userqueries",
    }, log
    # A heartbeat older than HEARTBEAT_EVERY is renewed by a run that writes nothing: one PATCH with
    # If-Match on the ETag the run cache kept.
    _, _, log = _measure(setup, later=HEARTBEAT_EVERY + timedelta(minutes=1))
    assert _kind_requests(log, per_run=True)["PATCH mailboxes"] == 1, log


def test_a_computer_that_lost_the_claim_writes_nothing_though_it_kept_the_claim(setup: Setup) -> None:
    """The kept claim spares the read before a run, not the check before a write: the first write's
    heartbeat is a PATCH with If-Match on the kept ETag, which fails once another computer claimed."""
    ada = _new_contact(setup.client, "Ada", "Lovelace")
    _measure(setup)
    _measure(setup)
    records.claim(setup.client, "another-instance", "computer-b", force=True)  # instance claim --yes there
    crm, _, log = _measure(setup)  # a quiet run right after: nothing to write, nothing asked
    assert crm == QUIET, log
    setup.client.update("contacts", ada, {"jobtitle": "Analyst"})
    crm, ews, log = _measure(setup, status="not_sync_computer")
    assert not EWS_WRITES & set(ews), ews
    assert [m for m, p in log if m != "GET" and "mailboxes(" not in p] == [], log  # only the heartbeat
    assert setup.contacts()["Lovelace"].job_title != "Analyst"
    crm, ews, log = _measure(setup, status="not_sync_computer")  # the lost claim is not kept: read first
    assert crm == {"mailboxes": 1} and not ews, log


def test_a_quiet_run_notices_a_takeover_within_the_recheck(setup: Setup) -> None:
    _new_contact(setup.client, "Ada", "Lovelace")
    _measure(setup)
    records.claim(setup.client, "another-instance", "computer-b", force=True)
    crm, ews, log = _measure(setup, later=CLAIM_RECHECK + timedelta(minutes=1), status="not_sync_computer")
    assert crm == {"mailboxes": 1} and not ews, log


def test_a_changed_row_costs_the_scope_check_and_its_read(setup: Setup) -> None:
    ids = [_new_contact(setup.client, "Ada", f"Lovelace{n}") for n in range(3)]
    _measure(setup)
    setup.client.update("contacts", ids[0], {"jobtitle": "Analyst"})
    crm, _, log = _measure(setup)
    # the delta, the filter evaluated for the changed id, the row itself
    assert crm["contacts"] == 3, log
    assert crm["appointments"] == crm["tasks"] == 1
    assert setup.contacts()["Lovelace0"].job_title == "Analyst"


def test_leaving_the_scope_is_seen_in_the_delta_and_unlinks(setup: Setup) -> None:
    other = setup.sandbox.port_info()["users"][1]["systemuserid"]
    moved = _new_contact(setup.client, "Mo", "Moved")
    _new_contact(setup.client, "Stay", "Put")
    _measure(setup)
    setup.client.update("contacts", moved, {"ownerid@odata.bind": f"/systemusers({other})"})
    crm, _, log = _measure(setup)
    # the delta, the filter on the changed id (no match), then the existence check
    assert crm["contacts"] == 3, log
    contacts = setup.contacts()
    assert set(contacts) == {"Moved", "Put"}  # leaving the scope never deletes
    assert contacts["Moved"].props.crmlinkstate == LinkState.NOT_TRACKED
    with setup.state() as state:
        assert state.link_by_crm(Kind.CONTACTS, moved) is None
        assert state.count_links(Kind.CONTACTS) == 1


def test_without_change_tracking_every_run_reads_the_scope(setup: Setup) -> None:
    store = setup.sandbox.environments[0].store
    store.set_tracking("contacts", False)
    gone = _new_contact(setup.client, "Del", "Eted")
    _new_contact(setup.client, "Stay", "Put")
    _measure(setup)
    crm, _, log = _measure(setup)
    assert crm["contacts"] > 1 and crm["tasks"] == 1, log  # modifiedon fallback: the full scope again
    # a deletion cannot be seen by modifiedon: the full read still notices it (not in scope, not there)
    with setup.state() as state:
        link = state.link_by_crm(Kind.CONTACTS, gone)
        assert link is not None
    owner_copy = setup.contacts()["Eted"].id
    setup.client.delete("contacts", gone)
    _measure(setup)
    with setup.state() as state:
        assert state.link_by_crm(Kind.CONTACTS, gone) is None
    assert setup.contacts()["Eted"].id == owner_copy  # mine: the mailbox keeps an unlinked copy
    assert setup.contacts()["Eted"].props.crmlinkstate == LinkState.NOT_TRACKED


def test_changed_filters_read_the_scope_again(setup: Setup) -> None:
    from wizard.crm.filters import list_filters, set_active

    _new_contact(setup.client, "Ada", "Lovelace")
    _measure(setup)
    (contacts_filter,) = [f for f in list_filters(setup.client) if f.returnedtypecode == "contact"]
    set_active(setup.client, contacts_filter.id, False)  # no active filter: nothing of the kind
    crm, _, log = _measure(setup)  # right after the last run: the kept filters still apply
    assert crm["contacts"] == 1 and "userqueries" not in crm, log
    assert setup.contacts()["Lovelace"].props.crmlinkstate == LinkState.TRACKED
    crm, _, log = _measure(setup, later=FRESH_FOR + timedelta(minutes=1))  # the next scheduled run
    assert crm["contacts"] > 1 and crm["userqueries"] == 1, log
    assert setup.contacts()["Lovelace"].props.crmlinkstate == LinkState.NOT_TRACKED
    with setup.state() as state:
        assert state.count_links(Kind.CONTACTS) == 0


def test_the_engine_benchmark_runs_and_names_its_bounds() -> None:
    from bench import bench_engine

    result = bench_engine.run(10)
    assert result["nochange"]["ews_operations"] == {"SyncFolderItems": 3}
    assert (result["nochange"]["crm_requests"], result["nochange"]["authority_requests"]) == (3, 0)
    assert result["nochange"]["process_seconds"] > result["nochange"]["seconds"] > 0
    assert result["initial"]["created_in_mailbox"] == result["items"] == 20
    text = bench_engine.render(result)
    assert "lower bound" in text and "no-change run: Dataverse requests" in text


def test_after_a_mailbox_update_only_the_folder_sync_and_a_user_edit_is_still_seen(setup: Setup) -> None:
    ada = _new_contact(setup.client, "Ada", "Lovelace")
    _new_contact(setup.client, "Bob", "Babbage")
    _measure(setup)
    _measure(setup)
    setup.client.update("contacts", ada, {"jobtitle": "Analyst"})
    _, ews, _ = _measure(setup)  # writes the change to the mailbox (UpdateItem)
    assert ews["UpdateItem"] == 1 and ews["GetItem"] == 1, ews  # the item the change applies to
    _, ews, _ = _measure(setup)  # the catch-up saw our own change key: nothing to read back
    assert ews == QUIET_EWS
    # A user's edit after the engine's write has another change key: read and synchronized.
    item = setup.contacts()["Lovelace"]
    item.department = "Engines"
    assert setup.store.update_many(FolderKind.CONTACTS, [item])[0].ok
    _, ews, _ = _measure(setup)
    assert ews["GetItem"] == 1, ews
    assert setup.crm_contacts()["Lovelace"]["department"] == "Engines"


def test_mailbox_items_go_to_dynamics_in_one_batch(setup: Setup) -> None:
    made = setup.store.create_many(
        FolderKind.CONTACTS,
        [
            ContactItem(id="", given_name="T", surname=f"Tracked{n}", categories=[TRACKED_CATEGORY])
            for n in range(5)
        ],
    )
    assert all(r.ok for r in made)
    _, ews, log = _measure(setup)
    posts = [path.split("/api/data/v9.2/", 1)[-1] for method, path in log if method == "POST"]
    assert posts.count("$batch") == 1 and "contacts" not in posts, posts  # 5 creates, 1 request
    assert ews["UpdateItem"] == 1, ews  # the 5 stamps: one request
    crm_rows = setup.crm_contacts()
    assert {f"Tracked{n}" for n in range(5)} <= set(crm_rows)
    with setup.state() as state:
        assert state.count_links(Kind.CONTACTS) == 5
        assert state.pending_creates() == []
    contacts = setup.contacts()
    assert all(contacts[f"Tracked{n}"].props.crmlinkstate == LinkState.TRACKED for n in range(5))
    # Stamping overwrites (it must not conflict with the user): its change key may cover a user's edit
    # made meanwhile, so the stamped items are read once more (one GetItem for the five), then no more.
    _, ews, _ = _measure(setup)
    assert ews == {"SyncFolderItems": len(KINDS), "GetItem": 1}
    _, ews, _ = _measure(setup)
    assert ews == QUIET_EWS


def test_a_create_dynamics_refuses_fails_that_item_only(setup: Setup) -> None:
    items = [
        ContactItem(id="", given_name="T", surname=f"Tracked{n}", categories=[TRACKED_CATEGORY])
        for n in range(3)
    ]
    items[1].job_title = "x" * 5000  # longer than the column allows: the service refuses that row alone
    assert all(r.ok for r in setup.store.create_many(FolderKind.CONTACTS, items))
    summary = setup.run()
    contacts_result = next(k for k in summary.kinds if k.kind == "contacts")
    crm_rows = setup.crm_contacts()
    assert {"Tracked0", "Tracked2"} <= set(crm_rows) and "Tracked1" not in crm_rows
    assert contacts_result.to_crm.created == 2 and contacts_result.to_crm.errors == 1
    with setup.state() as state:
        assert state.pending_creates() == []  # the refused create was journaled and closed
        assert state.count_links(Kind.CONTACTS) == 2


def test_updates_of_many_pairs_go_in_one_request_per_side(setup: Setup) -> None:
    """Six contacts changed in Dynamics 365: one UpdateItem for the six; six changed in the mailbox: one
    $batch of PATCHes (If-Match each)."""
    ids = {f"Person{n}": _new_contact(setup.client, "P", f"Person{n}") for n in range(6)}
    _measure(setup)
    _measure(setup)
    for n, crm_id in enumerate(ids.values()):
        setup.client.update("contacts", crm_id, {"jobtitle": f"Role {n}"})
    _, ews, _ = _measure(setup)
    assert (ews["UpdateItem"], ews["GetItem"]) == (1, 1), ews  # the six fetched and written together
    assert {c.surname: c.job_title for c in setup.contacts().values()} == {
        f"Person{n}": f"Role {n}" for n in range(6)
    }

    contacts = setup.contacts()
    for n in range(6):
        contacts[f"Person{n}"].department = f"Dept {n}"
    assert all(r.ok for r in setup.store.update_many(FolderKind.CONTACTS, list(contacts.values())))
    _, _, log = _measure(setup)
    patches = [path for method, path in log if method == "PATCH" and "/contacts(" in path]
    posts = [path.split("/api/data/v9.2/", 1)[-1] for method, path in log if method == "POST"]
    assert patches == [] and posts.count("$batch") == 1, (patches, posts)
    rows = setup.crm_contacts()
    assert {rows[f"Person{n}"]["department"] for n in range(6)} == {f"Dept {n}" for n in range(6)}
    with setup.state() as state:
        assert state.pending_creates() == []


def test_the_servers_version_is_guessed_once_and_kept(setup: Setup) -> None:
    from wizard.app.factory import EWS_VERSIONS_FILE

    _new_contact(setup.client, "Ada", "Lovelace")
    _measure(setup)
    (setup.factory.where.cache_dir / EWS_VERSIONS_FILE).unlink()  # the cache folder cleaned
    _, ews, _ = _measure(setup)
    assert ews == {"ConvertId": 1, **QUIET_EWS}  # exchangelib guesses the version: once
    _, ews, _ = _measure(setup)
    assert ews == QUIET_EWS


def test_email_keeps_its_settings_between_runs_too(setup: Setup) -> None:
    """Email reads the user's filtering method, the organization's tracking prefix and attachment limit and the
    user's address and name: kept like the record kinds' per-run reads (FRESH_FOR), read again when stale."""
    env = setup.sandbox.environments[0].server
    settings = ("usersettingscollection", "organizations", "systemusers")

    def run(later: timedelta = timedelta(0)) -> Counter[str]:
        env.reset_counts()
        with setup.engine() as engine:
            if later:
                engine.clock = lambda: datetime.now(UTC) + later
            _ok(engine.run_once(["email"]))
        counts = _kind_requests(list(env.request_log))
        return Counter({name: counts[name] for name in settings if counts[name]})

    assert run() == Counter(dict.fromkeys(settings, 1))  # the first run reads each once
    assert run() == Counter()  # kept
    assert run(FRESH_FOR + timedelta(minutes=1)) == Counter(dict.fromkeys(settings, 1))  # stale: read again
