"""Contract: wizard.crm / wizard.odata against the Dataverse stand-in (HTTPS, bearer tokens, demo
directory).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from wizard.crm import filters as crm_filters
from wizard.crm import records
from wizard.crm.client import DataverseClient
from wizard.crm.entities import QUERYTYPE_OUTLOOK, MailboxRecord
from wizard.errors import RuleViolation
from wizard.odata import (
    BatchRequest,
    ChangeSet,
    FailFast,
    FaultTolerance,
    NetworkError,
    NotFoundError,
    ODataSession,
    PreconditionFailedError,
)

pytest.importorskip("wizard.sandbox.dataverse.server")

from wizard.sandbox.dataverse.server import DataverseEnvironment
from wizard.sandbox.directory import Directory, DirectoryUser, demo_directory
from wizard.sandbox.tls import SandboxTLS, make_tls
from wizard.sandbox.tokens import TokenSigner


class StaticToken:
    def __init__(self, value: str) -> None:
        self.value = value

    def token(self, *, force_refresh: bool = False) -> str:
        return self.value


class Sleeps(list[float]):
    def __call__(self, seconds: float, /) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Directory, TokenSigner, SandboxTLS]]:
    yield demo_directory(), TokenSigner(), make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def envs(world: tuple[Directory, TokenSigner, SandboxTLS]) -> Iterator[list[DataverseEnvironment]]:
    directory, signer, tls = world
    started = [
        DataverseEnvironment(
            directory, org, signer=signer, tls=tls, authority_url="https://127.0.0.1:1/adfs", demo_data=False
        ).start()
        for org in directory.orgs
    ]
    yield started
    for env in started:
        env.stop()


@pytest.fixture
def env(envs: list[DataverseEnvironment]) -> DataverseEnvironment:
    return envs[0]


def user(directory: Directory, upn: str) -> DirectoryUser:
    found = directory.user(upn)
    assert found is not None
    return found


def connect(
    env: DataverseEnvironment,
    world: tuple[Directory, TokenSigner, SandboxTLS],
    upn: str = "anna.schmidt@contoso.com",
    sleeps: Sleeps | None = None,
) -> DataverseClient:
    directory, signer, tls = world
    who = user(directory, upn)
    token = signer.issue(oid=who.oid, upn=who.upn, tenant_id=directory.tenant_id, audience=env.url)
    session = ODataSession(
        env.url + "/api/data/v9.2/",
        auth=StaticToken(token),
        verify=str(tls.ca_file),
        retry_policy=FaultTolerance(max_attempts=4, max_wait=30),
        sleeper=sleeps if sleeps is not None else Sleeps(),
    )
    return DataverseClient(session)


def patches(env: DataverseEnvironment) -> int:
    return sum(1 for method, _ in env.server.request_log if method == "PATCH")


# -- identity and typed getters ------------------------------------------------------------------------------


def test_identity_and_settings(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    client = connect(env, world, "nancy.anderson@contoso.com")
    nancy = user(world[0], "nancy.anderson@contoso.com")
    me = client.current_user()
    assert me.id == nancy.systemuserid(env.org)
    assert me.primary_email == "nanderson@contoso.com" and me.domainname == "nancy.anderson@contoso.com"
    assert me.azureactivedirectoryobjectid == nancy.oid and not me.isdisabled
    assert client.whoami().organization_id == env.org.id
    settings = client.user_settings()
    assert settings.outlooksyncinterval == 15 and settings.incomingemailfilteringmethod == 2
    org = client.organization_settings()
    assert org.minoutlooksyncinterval == 15 and org.maxuploadfilesize == 5_242_880
    mailbox = client.user_mailbox()
    assert mailbox is not None and mailbox.regarding_id == me.id and mailbox.etag
    assert [m.id for m in client.find_mailboxes_by_address("NANDERSON@contoso.com")] == [mailbox.id]


# -- CRUD and ETags ------------------------------------------------------------------------------------------


def test_crud_and_etags(env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]) -> None:
    client = connect(env, world)
    contact_id = client.create("contacts", {"firstname": "Erika", "lastname": "Mustermann"})
    row = client.get("contacts", contact_id, select=["fullname", "lastname"])
    assert row["fullname"] == "Erika Mustermann"
    etag = row["@odata.etag"]
    assert client.get_if_changed("contacts", contact_id, etag, select=["fullname"]) is None
    client.update("contacts", contact_id, {"lastname": "Musterfrau"}, etag=etag)
    with pytest.raises(PreconditionFailedError):
        client.update("contacts", contact_id, {"lastname": "Stale"}, etag=etag)
    with pytest.raises(PreconditionFailedError):
        client.delete("contacts", contact_id, etag=etag)
    fresh = client.get("contacts", contact_id, select=["lastname"])
    assert fresh["lastname"] == "Musterfrau" and fresh["@odata.etag"] != etag
    created = client.create("contacts", {"lastname": "Rep"}, True, select=["lastname"])
    assert created["lastname"] == "Rep" and created["@odata.etag"]
    client.delete("contacts", contact_id, etag=fresh["@odata.etag"])
    with pytest.raises(NotFoundError):
        client.get("contacts", contact_id)
    with pytest.raises(NotFoundError):
        client.update("contacts", contact_id, {"lastname": "x"})  # If-Match: * never upserts


def _bulk_contacts(env: DataverseEnvironment, owner: str, n: int) -> None:
    env.store.bulk_create(
        "contacts",
        ({"firstname": "Bulk", "lastname": f"Contact {i:05d}", "_ownerid_value": owner} for i in range(n)),
        user_id=owner,
    )


def test_paging_10000_contacts_in_three_requests(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    client = connect(env, world)
    _bulk_contacts(env, client.whoami().user_id, 10_000)
    env.server.reset_counts()
    ids = [row["contactid"] for row in client.query("contacts", select=["fullname"], page_size=5000)]
    assert len(ids) == 10_000 and len(set(ids)) == 10_000
    assert env.server.request_count <= 3


def test_fetchxml_paging(env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]) -> None:
    client = connect(env, world)
    _bulk_contacts(env, client.whoami().user_id, 2_500)
    env.server.reset_counts()
    fetch = (
        '<fetch><entity name="contact"><attribute name="contactid"/><attribute name="lastname"/>'
        '<order attribute="lastname"/><filter><condition attribute="firstname" operator="eq" value="Bulk"/>'
        "</filter></entity></fetch>"
    )
    rows = list(client.fetch("contacts", fetch, page_size=1000))
    assert len(rows) == 2_500 and len({r["contactid"] for r in rows}) == 2_500
    assert [r["lastname"] for r in rows] == sorted(r["lastname"] for r in rows)
    assert env.server.request_count == 3


def test_batch_of_1000_creates(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    client = connect(env, world)
    env.server.reset_counts()
    items = [BatchRequest("POST", "tasks", {"subject": f"Batch task {i}"}) for i in range(1000)]
    results = client.batch(items)
    assert env.server.request_count <= 2
    assert all(r.ok for r in results) and len({r.entity_id for r in results}) == 1000
    assert (
        len([t for t in env.store.rows("tasks") if str(t.get("subject", "")).startswith("Batch task")])
        == 1000
    )


def test_batch_change_set_with_reference_and_error(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    client = connect(env, world)
    account = BatchRequest("POST", "accounts", {"name": "Batch Account"}, content_id="1")
    contact = BatchRequest(
        "POST",
        "contacts",
        {"lastname": "Linked", "parentcustomerid_account@odata.bind": "$1"},
        content_id="2",
    )
    bad = BatchRequest("POST", "tasks", {"subject": "x" * 300})
    results = client.batch([ChangeSet([account, contact]), bad, BatchRequest("GET", "accounts?$select=name")])
    assert results[0].ok and results[1].ok
    assert results[2].status == 400 and results[2].error is not None
    assert results[3].ok and any(a["name"] == "Batch Account" for a in results[3].body["value"])
    stopped = client.batch(
        [bad, BatchRequest("POST", "tasks", {"subject": "never"})], continue_on_error=False
    )
    assert stopped[0].status == 400 and stopped[1].status == 0


# -- change tracking -----------------------------------------------------------------------------------------


def test_change_tracking_and_fallbacks(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    client = connect(env, world)
    keep = client.create("contacts", {"lastname": "Keep"})
    gone = client.create("contacts", {"lastname": "Gone"})
    first = client.read_changes("contacts", ["lastname"], None)
    assert first.mode == "delta" and first.full_read
    assert {keep, gone} <= {r["contactid"] for r in first.rows}
    client.update("contacts", keep, {"lastname": "Kept"})
    new = client.create("contacts", {"lastname": "New"})
    client.delete("contacts", gone)
    env.server.reset_counts()
    second = client.read_changes("contacts", ["lastname"], first.next_token)
    assert env.server.request_count == 1
    assert {r["contactid"] for r in second.rows} == {keep, new} and second.deleted_ids == [gone]
    assert not second.full_read
    env.server.reset_counts()
    quiet = client.read_changes("contacts", ["lastname"], second.next_token)
    assert quiet.rows == [] and quiet.deleted_ids == [] and env.server.request_count == 1

    # an expired token: full re-read, reported
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=8)
    original_clock = env.store.clock
    env.store.clock = lambda: later
    try:
        expired = client.read_changes("contacts", ["lastname"], quiet.next_token)
    finally:
        env.store.clock = original_clock
    assert expired.full_read and expired.resync_reason == "expired" and expired.mode == "delta"

    # tracking off: modifiedon fallback, and the token says so
    env.store.set_tracking("contacts", False)
    fallback = client.read_changes("contacts", ["lastname"], None)
    assert fallback.mode == "modifiedon" and fallback.full_read and not fallback.deletes_detected
    assert fallback.next_token.startswith("ct1:modifiedon:")
    client.update("contacts", keep, {"lastname": "Kept again"})
    after = client.read_changes("contacts", ["lastname"], fallback.next_token)
    assert keep in {r["contactid"] for r in after.rows} and after.mode == "modifiedon"


# -- rules ---------------------------------------------------------------------------------------------------


def test_set_sync_org_across_two_environments(
    envs: list[DataverseEnvironment], world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    sales, test = (connect(e, world) for e in envs)
    report = records.set_sync_org(test, [sales])
    assert report.complete and report.cleared == [sales.org_url]
    assert (test.user_mailbox() or pytest.fail()).is_sync_org
    report = records.set_sync_org(sales, [test])
    assert report.complete
    assert (sales.user_mailbox() or pytest.fail()).is_sync_org
    mailbox = test.user_mailbox()
    assert (
        mailbox is not None
        and not mailbox.isactsyncorgflagset
        and not mailbox.orgmarkedasprimaryforexchangesync
    )


def test_set_sync_org_reports_unreachable_org(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    from tests.unit.odata.replay import closed_port

    client = connect(env, world)
    dead = DataverseClient(
        ODataSession(f"https://127.0.0.1:{closed_port()}/api/data/v9.2/", retry_policy=FailFast())
    )
    report = records.set_sync_org(client, [dead])
    assert not report.complete and list(report.failed) == [dead.org_url]
    assert isinstance(report.failed[dead.org_url], NetworkError)
    assert dead.org_url in report.user_text
    assert (client.user_mailbox() or pytest.fail()).is_sync_org


def test_primary_email_rule_for_nancy(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    client = connect(env, world, "nancy.anderson@contoso.com")
    with pytest.raises(RuleViolation) as info:
        records.check_mailbox_address(client, "nancy.anderson@contoso.com")
    assert records.ADDRESS_MISMATCH_TEXT in info.value.user_text
    assert "nanderson@contoso.com" in info.value.user_text
    assert records.check_mailbox_address(client, "nanderson@contoso.com").fullname == "Nancy Anderson"


def test_address_bound_to_another_user(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    directory = world[0]
    joerg = user(directory, "joerg.baer@contoso.com")
    joerg_mailbox = env.store.find("mailboxes", "_regardingobjectid_value", joerg.systemuserid(env.org))
    assert joerg_mailbox is not None
    env.store.update("mailboxes", joerg_mailbox["mailboxid"], {"emailaddress": "anna.schmidt@contoso.com"})
    client = connect(env, world)
    with pytest.raises(RuleViolation) as info:
        records.bind_mailbox(client, "anna.schmidt@contoso.com", "exchange")
    assert "Jörg Bär" in info.value.user_text and "already bound" in info.value.user_text


def test_bind_and_unbind_mailbox(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    client = connect(env, world)
    bound = records.bind_mailbox(client, "anna.schmidt@contoso.com", "exchange")
    assert (
        bound.incomingemaildeliverymethod,
        bound.outgoingemaildeliverymethod,
        bound.actdeliverymethod,
    ) == (1, 1, 0)
    pop = records.bind_mailbox(client, "anna.schmidt@contoso.com", "pop3")
    assert pop.actdeliverymethod == 2
    unbound = records.unbind_mailbox(client)
    assert (
        unbound.incomingemaildeliverymethod,
        unbound.outgoingemaildeliverymethod,
        unbound.actdeliverymethod,
    ) == (0, 0, 2)


def test_claim_race_and_takeover(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    laptop, desktop = connect(env, world), connect(env, world)
    mailbox = laptop.user_mailbox()
    assert mailbox is not None
    env.store.update(MailboxRecord.SET, mailbox.id, {"exchangesyncstatexml": "<SSS><Folder id='1'/></SSS>"})
    t0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    mine = records.claim(laptop, "aaaa-1", "ANNA-LAPTOP", now=t0)
    assert records.read_claim(desktop) == mine
    with pytest.raises(records.ClaimHeldElsewhere) as info:
        records.claim(desktop, "bbbb-2", "ANNA-DESKTOP")
    assert info.value.holder.hostname == "ANNA-LAPTOP" and "2026-03-02 08:00" in info.value.user_text
    beat = records.heartbeat(laptop, "aaaa-1", now=t0 + dt.timedelta(minutes=15))
    assert beat.claimed_at == t0 and beat.heartbeat == t0 + dt.timedelta(minutes=15)
    taken = records.claim(desktop, "bbbb-2", "ANNA-DESKTOP", force=True)
    assert taken.instance_id == "bbbb-2"
    with pytest.raises(records.ClaimHeldElsewhere) as lost:
        records.heartbeat(laptop, "aaaa-1")
    assert lost.value.lost and lost.value.holder.hostname == "ANNA-DESKTOP"
    assert not records.release(laptop, "aaaa-1")
    assert records.release(desktop, "bbbb-2")
    assert records.read_claim(laptop) is None
    state = (laptop.user_mailbox() or pytest.fail()).exchangesyncstatexml
    assert state == "<SSS><Folder id='1'/></SSS>"  # foreign XML kept byte-for-byte


def test_a_heartbeat_renewal_is_one_conditional_request_until_someone_claims(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    laptop, desktop = connect(env, world), connect(env, world)
    t0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    records.claim(laptop, "aaaa-1", "ANNA-LAPTOP", now=t0)
    row = records.renew_heartbeat(laptop, "aaaa-1", None, now=t0)  # the first: read, then PATCH
    assert row is not None and row.etag
    env.server.reset_counts()
    row = records.renew_heartbeat(laptop, "aaaa-1", row, now=t0 + dt.timedelta(minutes=1))
    assert [m for m, _p in env.server.request_log] == ["PATCH"]  # If-Match on the ETag the last one left
    assert row is not None and records.parse_claim(row.exchangesyncstatexml) == records.Claim(
        "aaaa-1", "ANNA-LAPTOP", t0, t0 + dt.timedelta(minutes=1)
    )
    records.claim(desktop, "bbbb-2", "ANNA-DESKTOP", force=True)
    with pytest.raises(records.ClaimHeldElsewhere) as lost:  # 412, then read: another computer holds it
        records.renew_heartbeat(laptop, "aaaa-1", row)
    assert lost.value.lost and lost.value.holder.hostname == "ANNA-DESKTOP"
    assert (
        records.read_claim(laptop) == records.read_claim(desktop)
        and lost.value.holder.instance_id == "bbbb-2"
    )


def test_claim_412_race_rereads_and_decides_again(
    env: DataverseEnvironment,
    world: tuple[Directory, TokenSigner, SandboxTLS],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    laptop, desktop = connect(env, world), connect(env, world)
    original = desktop.user_mailbox
    calls = {"n": 0}

    def read_then_lose_the_race(user_id: str | None = None) -> MailboxRecord | None:
        record = original(user_id)
        calls["n"] += 1
        if calls["n"] == 1:  # the laptop claims between the desktop's read and its write
            records.claim(laptop, "aaaa-1", "ANNA-LAPTOP")
        return record

    monkeypatch.setattr(desktop, "user_mailbox", read_then_lose_the_race)
    env.server.reset_counts()
    with pytest.raises(records.ClaimHeldElsewhere) as info:
        records.claim(desktop, "bbbb-2", "ANNA-DESKTOP")
    assert info.value.holder.instance_id == "aaaa-1"
    assert patches(env) == 2 and calls["n"] == 2  # the desktop's PATCH got 412, it re-read and gave way
    assert (records.read_claim(laptop) or pytest.fail()).instance_id == "aaaa-1"


# -- filters -------------------------------------------------------------------------------------------------


def test_default_filters_of_an_english_user_have_english_names(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    """The names follow usersettings.uilanguageid: English (1033) keeps the original's English names."""
    client = connect(env, world)
    me = client.whoami().user_id
    env.store.update("usersettingscollection", me, {"uilanguageid": 1033})
    created = crm_filters.ensure_default_filters(client)
    assert {f.name for f in created} == {"My Outlook Contacts", "My Appointments", "My Tasks"}


def test_default_filters_are_created_only_after_the_hook_allows_it(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    """The sync engine passes its claim check: a computer that lost the claim creates no filters."""
    client = connect(env, world)

    class Lost(Exception):
        pass

    def lost() -> None:
        raise Lost

    with pytest.raises(Lost):
        crm_filters.ensure_default_filters(client, before_create=lost)
    assert crm_filters.outlook_filters(client) == []  # nothing written
    calls: list[int] = []
    created = crm_filters.ensure_default_filters(client, before_create=lambda: calls.append(1))
    assert len(created) == 3 and calls == [1]
    assert crm_filters.ensure_default_filters(client, before_create=lost) == created  # none to create


def test_default_filters_and_union(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    client = connect(env, world)
    me = client.whoami().user_id
    mine_active = client.create("contacts", {"lastname": "Mine"})
    other = user(world[0], "joerg.baer@contoso.com").systemuserid(env.org)
    theirs = env.store.create("contacts", {"lastname": "Theirs", "_ownerid_value": other}, user_id=other)
    created = crm_filters.ensure_default_filters(client)
    # named in the user's Dynamics 365 language (usersettings.uilanguageid 1031 in the stand-in), as the
    # original names them (issue 12 item 6)
    assert {f.name for f in created} == {"Meine Outlook-Kontakte", "Meine Termine", "Meine Aufgaben"}
    assert all(f.querytype == QUERYTYPE_OUTLOOK and f.active and f.owner_id == me for f in created)
    assert crm_filters.ensure_default_filters(client) == created  # idempotent
    ids = crm_filters.run_filters(client, "contact", created)
    assert mine_active in ids and theirs not in ids
    contact_filter = next(f for f in created if f.returnedtypecode == "contact")
    extra = crm_filters.create_filter(
        client,
        "Joerg's contacts",
        "contact",
        '<fetch><entity name="contact"><attribute name="contactid"/><filter>'
        f'<condition attribute="ownerid" operator="eq" value="{other}"/></filter></entity></fetch>',
    )
    union = crm_filters.run_filters(client, "contact", crm_filters.outlook_filters(client))
    assert {mine_active, theirs} <= union
    crm_filters.set_active(client, contact_filter.id, False)
    crm_filters.set_active(client, extra, False)
    assert crm_filters.run_filters(client, "contact", crm_filters.outlook_filters(client)) == set()
    assert crm_filters.offline_filters(client) == []


# -- faults through the stand-in -----------------------------------------------------------------------------


def test_throttling_is_retried_with_retry_after(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    sleeps = Sleeps()
    client = connect(env, world, sleeps=sleeps)
    env.server.faults.throttle(retry_after=2, remaining=2)
    assert client.whoami(refresh=True).user_id
    assert sleeps == [2.0, 2.0]


def test_dropped_connection_is_retried(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    sleeps = Sleeps()
    client = connect(env, world, sleeps=sleeps)
    env.server.faults.drop(remaining=1)
    assert client.current_user().fullname == "Anna Schmidt"
    assert len(sleeps) == 1


def test_wrong_audience_token_is_an_auth_error(
    env: DataverseEnvironment,
    envs: list[DataverseEnvironment],
    world: tuple[Directory, TokenSigner, SandboxTLS],
) -> None:
    from wizard.odata import AuthError

    directory, signer, tls = world
    anna = user(directory, "anna.schmidt@contoso.com")
    token = signer.issue(oid=anna.oid, upn=anna.upn, tenant_id=directory.tenant_id, audience=envs[1].url)
    session = ODataSession(
        env.url + "/api/data/v9.2/", auth=StaticToken(token), verify=str(tls.ca_file), retry_policy=FailFast()
    )
    with pytest.raises(AuthError):
        DataverseClient(session).whoami()


# -- discovery and pasted URLs -------------------------------------------------------------------------------


def test_global_discovery_and_org_check(
    envs: list[DataverseEnvironment], world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    from wizard.crm.discovery import check_org_url, discover_instances
    from wizard.sandbox.dataverse.discovery import DiscoveryService

    directory, signer, tls = world
    service = DiscoveryService(
        directory, envs, signer=signer, tls=tls, authority_url="https://127.0.0.1:1/adfs"
    ).start()
    try:
        ben = user(directory, "ben.miller@contoso.com")
        token = signer.issue(oid=ben.oid, upn=ben.upn, tenant_id=directory.tenant_id, audience=service.url)
        session = ODataSession(
            service.url + "/api/discovery/v2.0/",
            auth=StaticToken(token),
            verify=str(tls.ca_file),
            retry_policy=FailFast(),
        )
        instances = discover_instances(session)
        assert [i.unique_name for i in instances] == ["contososales"]  # Ben is in one environment only
        (sales,) = instances
        assert sales.api_url == envs[0].url and sales.tenant_id == directory.tenant_id and sales.usable

        env_token = signer.issue(
            oid=ben.oid, upn=ben.upn, tenant_id=directory.tenant_id, audience=envs[0].url
        )

        def factory(root: str) -> ODataSession:
            return ODataSession(
                root, auth=StaticToken(env_token), verify=str(tls.ca_file), retry_policy=FailFast()
            )

        identity = check_org_url(sales.url + "/main.aspx?appid=1&pagetype=entitylist", factory)
        assert identity.url == envs[0].url
        assert identity.organization_id == envs[0].org.id
        assert identity.user_id == ben.systemuserid(envs[0].org)
    finally:
        service.stop()


def test_user_not_in_organization(
    envs: list[DataverseEnvironment], world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    from wizard.odata import PrivilegeError

    client = connect(envs[1], world, "ben.miller@contoso.com")  # Ben is a member of contososales only
    with pytest.raises(PrivilegeError) as info:
        client.whoami()
    assert "not a user of the organization" in info.value.user_text


def test_discover_authority_from_the_stand_in(
    env: DataverseEnvironment, world: tuple[Directory, TokenSigner, SandboxTLS]
) -> None:
    from wizard.crm.discovery import discover_authority

    assert discover_authority(env.url + "/api/data/v9.2/", verify=str(world[2].ca_file)) == (
        "https://127.0.0.1:1/adfs"
    )
