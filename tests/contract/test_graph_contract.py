"""Graph backend against the Graph stand-in: the mailbox contract plus Graph specifics (delta resync,
$batch, throttling inside and outside batches, extended properties on the wire, no invitations)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from tests.contract.mailbox_contract import MailboxContract, drain, make_message, ok_values
from wizard.mailbox.base import (
    AppointmentItem,
    AuthenticationFailed,
    ContactItem,
    FolderKind,
    LinkState,
    MailItem,
    NamedProps,
    OutgoingMessage,
    ProtocolError,
    ServerUnreachable,
    TaskItem,
    TaskStatus,
    Throttled,
    TLSFailure,
)
from wizard.mailbox.graph import GraphSettings, GraphStore, GraphTokenProvider
from wizard.mailbox.graph.client import resource_of
from wizard.mailbox.graph.props import TASK_EXTENSION, prop_id
from wizard.sandbox.directory import Directory, demo_directory
from wizard.sandbox.graph import GraphStandIn
from wizard.sandbox.tls import SandboxTLS, make_tls
from wizard.sandbox.tokens import TokenSigner

ANNA = "anna.schmidt@contoso.com"
JOERG = "joerg.baer@contoso.com"
StoreFactory = Callable[..., GraphStore]


@pytest.fixture(scope="module")
def sandbox_tls(tmp_path_factory: pytest.TempPathFactory) -> SandboxTLS:
    return make_tls(tmp_path_factory.mktemp("graph-store-ca"))


@pytest.fixture
def directory() -> Directory:
    return demo_directory()


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner()


@pytest.fixture
def standin(directory: Directory, sandbox_tls: SandboxTLS, signer: TokenSigner) -> Iterator[GraphStandIn]:
    server = GraphStandIn(directory, tls=sandbox_tls, signer=signer).start()
    yield server
    server.stop()


@dataclass
class Tokens:
    """A token provider as MSAL's silent sign-in would be: a fresh token on request."""

    signer: TokenSigner
    directory: Directory
    audience: str
    upn: str = ANNA
    calls: list[bool] = field(default_factory=list)

    def token(self, *, force_refresh: bool = False) -> str:
        self.calls.append(force_refresh)
        user = self.directory.user(self.upn)
        assert user is not None
        return self.signer.issue(
            oid=user.oid, upn=user.upn, tenant_id=self.directory.tenant_id, audience=self.audience
        )


@pytest.fixture
def make_store(
    standin: GraphStandIn, sandbox_tls: SandboxTLS, signer: TokenSigner, directory: Directory
) -> Iterator[StoreFactory]:
    made: list[GraphStore] = []

    def make(tokens: object | None = None, **overrides: object) -> GraphStore:
        values: dict[str, object] = {
            "address": ANNA,
            "graph_url": standin.url,
            "ca_file": str(sandbox_tls.ca_file),
            "max_wait": 2.0,
            "timeout": 10.0,
            "calendar_past_days": 3650,
        }
        values.update(overrides)
        provider = tokens or Tokens(signer, directory, standin.base_url)
        store = GraphStore(GraphSettings(**values), token_provider=provider)  # type: ignore[arg-type]
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@dataclass
class GraphHarness:
    standin: GraphStandIn
    store: GraphStore
    address: str = ANNA

    def deliver(self, raw: bytes) -> None:
        self.standin.deliver(self.address, raw)

    def delete_on_server(self, message_id: str) -> None:
        self.standin.delete_message(self.address, message_id)

    def sent_messages(self) -> list[bytes]:
        return [raw for _, _, raw in self.standin.transport]


class TestGraphContract(MailboxContract):
    @pytest.fixture
    def harness(self, standin: GraphStandIn, make_store: StoreFactory) -> GraphHarness:
        return GraphHarness(standin=standin, store=make_store())


# ---- Graph specifics ------------------------------------------------------------------------------


def _contact(name: str) -> ContactItem:
    return ContactItem(id="", given_name=name, surname="Test", display_name=f"{name} Test")


def test_bulk_create_uses_json_batches_of_twenty(standin: GraphStandIn, make_store: StoreFactory) -> None:
    store = make_store()
    store.check()
    standin.server.reset_counts()
    results = store.create_many(FolderKind.CONTACTS, [_contact(f"K{n:02d}") for n in range(45)])
    assert all(r.ok for r in results) and len({r.id for r in results}) == 45
    assert [p for _, p in standin.server.request_log] == ["/v1.0/$batch"] * 3  # 20 + 20 + 5
    cursor = drain(store, FolderKind.CONTACTS, None, page_size=100).cursor
    standin.server.reset_counts()
    quiet = drain(store, FolderKind.CONTACTS, cursor)
    assert quiet.created == quiet.updated == quiet.deleted == []
    assert standin.server.request_count == 1


def test_named_properties_are_extended_properties_in_ps_public_strings(
    standin: GraphStandIn, make_store: StoreFactory
) -> None:
    store = make_store()
    (created,) = ok_values(store.create_many(FolderKind.CONTACTS, [_contact("Ext")]))
    (stamped,) = store.set_named_props(
        FolderKind.CONTACTS, [(created.id, NamedProps(crmid="c-1", crmlinkstate=LinkState.TRACKED))]
    )
    assert stamped.ok and stamped.value
    entry = standin.data.mailboxes[standin.mailbox(ANNA).oid].entries[created.id]
    assert entry.ext["string {00020329-0000-0000-C000-000000000046} Name crmid"] == "c-1"
    assert entry.ext["string {00020329-0000-0000-C000-000000000046} Name crmlinkstate"] == "2"
    assert prop_id("crmid") == "String {00020329-0000-0000-C000-000000000046} Name crmid"
    store.set_named_props(FolderKind.CONTACTS, [(created.id, NamedProps(crmlinkstate=LinkState.NOT_TRACKED))])
    (read,) = ok_values(store.get_many(FolderKind.CONTACTS, [created.id]))
    assert read.props.crmid is None and read.props.crmlinkstate is LinkState.NOT_TRACKED
    assert store.find_by_crmid(FolderKind.CONTACTS, "c-1") == []


def test_tasks_carry_named_properties_in_an_open_extension(
    standin: GraphStandIn, make_store: StoreFactory
) -> None:
    store = make_store()
    task = TaskItem(id="", subject="Halb fertig", status=TaskStatus.IN_PROGRESS, percent_complete=50)
    task.props = NamedProps(crmid="t-1", crmlinkstate=LinkState.TRACKED)
    (created,) = ok_values(store.create_many(FolderKind.TASKS, [task]))
    entry = standin.data.mailboxes[standin.mailbox(ANNA).oid].entries[created.id]
    assert entry.extensions[TASK_EXTENSION]["crmid"] == "t-1"
    (read,) = ok_values(store.get_many(FolderKind.TASKS, [created.id]))
    assert isinstance(read, TaskItem) and read.percent_complete == 50 and read.props.crmid == "t-1"
    assert read.change_key == created.change_key  # the create result carries the etag after stamping
    assert [i.id for i in store.find_by_crmid(FolderKind.TASKS, "t-1")] == [created.id]


def test_appointments_never_send_invitations(standin: GraphStandIn, make_store: StoreFactory) -> None:
    store = make_store(timezone="Europe/Berlin")
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    item = AppointmentItem(
        id="",
        subject="Leise",
        start=start,
        end=start + dt.timedelta(hours=1),
        required_attendees=[("Jörg Bär", JOERG)],
    )
    (created,) = ok_values(store.create_many(FolderKind.CALENDAR, [item]))
    assert isinstance(created, AppointmentItem)
    assert created.organizer == ("Anna Schmidt", ANNA) and created.uid
    created.subject = "Leise 2"
    ok_values(store.update_many(FolderKind.CALENDAR, [created]))
    assert standin.invitations == []
    assert standin.data.items(standin.mailbox(JOERG), "inbox") == []
    (read,) = ok_values(store.get_many(FolderKind.CALENDAR, [created.id]))
    assert isinstance(read, AppointmentItem)
    assert read.required_attendees == [("Jörg Bär", JOERG)]
    assert read.start == start and read.start is not None and read.start.utcoffset() == dt.timedelta(hours=1)


def test_all_day_appointment_round_trip(make_store: StoreFactory) -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Berlin")
    store = make_store(timezone="Europe/Berlin")
    item = AppointmentItem(
        id="",
        subject="Heiligabend",
        start=dt.datetime(2026, 12, 24, tzinfo=zone),
        end=dt.datetime(2026, 12, 25, tzinfo=zone),
        is_all_day=True,
        show_as=0,
        reminder_minutes=30,
    )
    (created,) = ok_values(store.create_many(FolderKind.CALENDAR, [item]))
    (read,) = ok_values(store.get_many(FolderKind.CALENDAR, [created.id]))
    assert isinstance(read, AppointmentItem)
    assert read.is_all_day and read.start == item.start and read.end == item.end
    assert (read.show_as, read.reminder_minutes) == (0, 30)


def test_expired_delta_token_means_full_resync(standin: GraphStandIn, make_store: StoreFactory) -> None:
    store = make_store()
    ok_values(store.create_many(FolderKind.CONTACTS, [_contact("A"), _contact("B")]))
    first = drain(store, FolderKind.CONTACTS, None)
    standin.expire_delta_tokens(ANNA)
    again = drain(store, FolderKind.CONTACTS, first.cursor)
    assert again.full_resync and sorted(again.created) == sorted(first.created)


def test_updates_are_reported_as_updated(standin: GraphStandIn, make_store: StoreFactory) -> None:
    store = make_store()
    (a,) = ok_values(store.create_many(FolderKind.CONTACTS, [_contact("Alt")]))
    assert isinstance(a, ContactItem)
    first = drain(store, FolderKind.CONTACTS, None)
    assert first.created == [a.id]
    # createdDateTime has whole seconds; an item made in an earlier second than the round start is "old"
    standin.data.mailboxes[standin.mailbox(ANNA).oid].entries[a.id].created = "2020-01-01T00:00:00Z"
    second = drain(store, FolderKind.CONTACTS, first.cursor)
    assert second.created == second.updated == []
    a.company = "Neu GmbH"
    ok_values(store.update_many(FolderKind.CONTACTS, [a]))
    third = drain(store, FolderKind.CONTACTS, second.cursor)
    assert third.updated == [a.id] and third.created == []


def test_sent_mail_keeps_headers_and_lands_in_sent_items(
    standin: GraphStandIn, make_store: StoreFactory
) -> None:
    store = make_store()
    message_id = store.send(
        OutgoingMessage(
            sender=("Anna Schmidt", ANNA),
            to=[("Jörg", JOERG)],
            subject="Angebot",
            body_text="Hallo",
            extra_headers=[("X-D365-Tracking", "CRM:0001")],
        )
    )
    (received,) = standin.data.items(standin.mailbox(JOERG), "inbox")
    assert received.resource["internetMessageId"] == message_id
    ids = drain(store, FolderKind.SENT_ITEMS, None).created
    (sent,) = ok_values(store.get_many(FolderKind.SENT_ITEMS, ids))
    assert isinstance(sent, MailItem)
    assert sent.message_id == message_id and sent.header("X-D365-Tracking") == "CRM:0001"


def test_permanent_delete(standin: GraphStandIn, make_store: StoreFactory) -> None:
    store = make_store()
    (a, b) = ok_values(store.create_many(FolderKind.CONTACTS, [_contact("Weg"), _contact("Auch")]))
    gone, missing = store.delete_many(FolderKind.CONTACTS, [a.id, "AAMkNichtDa"], permanently=True)
    assert gone.ok and not missing.ok
    assert [e.id for e in standin.data.items(standin.mailbox(ANNA), "contacts")] == [b.id]


def test_root_sync_org_is_visible_to_another_store(make_store: StoreFactory) -> None:
    make_store().set_root_sync_org("4f1c33a9-0b5e-4f0c-9d4e-7b3d0c2d8e11")
    assert make_store().root_sync_org() == "4f1c33a9-0b5e-4f0c-9d4e-7b3d0c2d8e11"


# ---- auth -----------------------------------------------------------------------------------------


def test_token_for_another_resource_is_refreshed_once_then_refused(
    standin: GraphStandIn, make_store: StoreFactory, signer: TokenSigner, directory: Directory
) -> None:
    tokens = Tokens(signer, directory, "https://contoso.crm4.dynamics.com")
    with pytest.raises(AuthenticationFailed) as caught:
        make_store(tokens=tokens).check()
    assert tokens.calls == [False, True]
    assert not caught.value.retriable


def test_signed_in_as_someone_else(
    make_store: StoreFactory, signer: TokenSigner, directory: Directory, standin: GraphStandIn
) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        make_store(tokens=Tokens(signer, directory, standin.base_url, upn=JOERG)).check()
    assert "not to the mailbox" in caught.value.user_text


def test_graph_token_provider_asks_for_the_default_scope_of_the_resource() -> None:
    class SignIn:
        def __init__(self) -> None:
            self.asked: list[tuple[list[str], str, bool]] = []

        def silent_token(self, scopes: list[str], username: str, *, force_refresh: bool = False) -> str:
            self.asked.append((scopes, username, force_refresh))
            return "tok"

    sign_in = SignIn()
    provider = GraphTokenProvider(sign_in, "https://graph.microsoft.com/v1.0", ANNA)
    assert provider.token(force_refresh=True) == "tok"
    assert sign_in.asked == [(["https://graph.microsoft.com/.default"], ANNA, True)]
    assert resource_of("https://127.0.0.1:4443/v1.0/") == "https://127.0.0.1:4443"
    assert "tok" not in repr(provider)


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(TLSFailure):
        GraphStore(
            GraphSettings(address=ANNA, graph_url="http://graph.example.com/v1.0"),
            token_provider=object(),  # type: ignore[arg-type]  # never asked: the URL is refused first
        )


# ---- faults ---------------------------------------------------------------------------------------


def test_a_429_storm_inside_batches_is_retried_per_request(
    standin: GraphStandIn, make_store: StoreFactory
) -> None:
    store = make_store()
    store.check()
    standin.faults.throttle(retry_after=0, remaining=30, probability=0.5, path_contains="/me/contacts")
    results = store.create_many(FolderKind.CONTACTS, [_contact(f"S{n:02d}") for n in range(40)])
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert standin.faults.hits.get("throttle", 0) > 0
    assert len(standin.data.items(standin.mailbox(ANNA), "contacts")) == 40  # nothing created twice


def test_throttling_beyond_the_budget_is_throttled(standin: GraphStandIn, make_store: StoreFactory) -> None:
    store = make_store(max_wait=1.0)
    store.check()
    standin.faults.throttle(retry_after=30)
    with pytest.raises(Throttled) as caught:
        drain(store, FolderKind.CONTACTS, None)
    assert caught.value.retry_after == 30 and caught.value.retriable
    with pytest.raises(Throttled):
        store.create_many(FolderKind.CONTACTS, [_contact("X")])


def test_short_throttling_is_retried(standin: GraphStandIn, make_store: StoreFactory) -> None:
    store = make_store()
    store.check()
    standin.faults.throttle(retry_after=0, remaining=2)
    assert drain(store, FolderKind.TASKS, None).cursor
    assert standin.faults.hits["throttle"] == 2


def test_dropped_connection_and_server_errors(standin: GraphStandIn, make_store: StoreFactory) -> None:
    from wizard.odata.retry import FailFast

    store = make_store()
    store.check()
    fail_fast = GraphStore(store.settings, token_provider=store._session.auth, retry_policy=FailFast())  # type: ignore[arg-type]
    try:
        standin.faults.drop(remaining=1)
        with pytest.raises(ServerUnreachable):
            drain(fail_fast, FolderKind.CONTACTS, None)
        standin.faults.error(status=500, remaining=1)
        with pytest.raises(ProtocolError) as caught:
            drain(fail_fast, FolderKind.CONTACTS, None)
        assert caught.value.retriable
        assert drain(fail_fast, FolderKind.CONTACTS, None).cursor  # recovers
    finally:
        fail_fast.close()


def test_delivered_message_keeps_headers(standin: GraphStandIn, make_store: StoreFactory) -> None:
    store = make_store()
    raw, message_id = make_message("Kopfzeilen")
    standin.deliver(ANNA, raw)
    ids = drain(store, FolderKind.INBOX, None).created
    (item,) = ok_values(store.get_many(FolderKind.INBOX, ids))
    assert isinstance(item, MailItem)
    assert item.header("Message-ID") == message_id and item.is_read is False
