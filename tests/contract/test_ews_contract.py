"""EWS backend against the EWS stand-in: the mailbox contract plus EWS specifics (autodiscover, auth,
faults, batching, request counts, named properties on the wire)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from tests.contract.mailbox_contract import MailboxContract, drain, make_message, ok_values
from wizard.mailbox.base import (
    AppointmentItem,
    AuthenticationFailed,
    ContactItem,
    FolderKind,
    LinkState,
    MailItem,
    NamedProps,
    ServerUnreachable,
    TaskItem,
    Throttled,
    TLSFailure,
)
from wizard.mailbox.ews import EwsAuth, EwsSettings, EwsStore
from wizard.sandbox.directory import Directory, demo_directory
from wizard.sandbox.ews import EwsStandIn
from wizard.sandbox.ews._soap import t
from wizard.sandbox.tls import SandboxTLS, make_tls
from wizard.sandbox.tokens import TokenSigner

ANNA = "anna.schmidt@contoso.com"
ANNA_PASSWORD = "Sandbox-Anna-2026"
NANCY_UPN = "nancy.anderson@contoso.com"
NANCY_SMTP = "nanderson@contoso.com"
BUILD = (15, 2, 2562, 17)
StoreFactory = Callable[..., EwsStore]


@pytest.fixture(scope="module")
def sandbox_tls(tmp_path_factory: pytest.TempPathFactory) -> SandboxTLS:
    return make_tls(tmp_path_factory.mktemp("ews-store-ca"))


@pytest.fixture
def directory() -> Directory:
    return demo_directory()


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner()


@pytest.fixture
def standin(directory: Directory, sandbox_tls: SandboxTLS, signer: TokenSigner) -> Iterator[EwsStandIn]:
    server = EwsStandIn(directory, tls=sandbox_tls, signer=signer).start()
    yield server
    server.stop()


def settings_for(standin: EwsStandIn, sandbox_tls: SandboxTLS, **overrides: object) -> EwsSettings:
    values: dict[str, object] = {
        "address": ANNA,
        "ews_url": standin.url,
        "auth": EwsAuth.BASIC,
        "ca_file": str(sandbox_tls.ca_file),
        "server_build": BUILD,
        "timezone": "Europe/Berlin",
        "max_wait": 2.0,
        "retry_wait": 0.05,
        "timeout": 10.0,
    }
    values.update(overrides)
    return EwsSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def make_store(standin: EwsStandIn, sandbox_tls: SandboxTLS) -> Iterator[StoreFactory]:
    made: list[EwsStore] = []

    def make(password: str = ANNA_PASSWORD, **overrides: object) -> EwsStore:
        store = EwsStore(settings_for(standin, sandbox_tls, **overrides), password=password)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@dataclass
class EwsHarness:
    standin: EwsStandIn
    store: EwsStore
    address: str = ANNA

    def deliver(self, raw: bytes) -> None:
        """Mail delivery: the stand-in's own CreateItem path (MIME into the Inbox), not the store under test."""
        from wizard.sandbox.ews._soap import el
        from wizard.sandbox.ews.ops import apply_mime, refresh_computed

        element = el(t("Message"))
        element.append(el(t("MimeContent"), base64.b64encode(raw).decode("ascii"), {"CharacterSet": "UTF-8"}))
        apply_mime(element)
        element.append(el(t("IsRead"), "false"))
        refresh_computed(element, "Message")
        inbox = self.standin.store.folder(self.address, "inbox")
        assert inbox is not None
        self.standin.store.insert(self.address, inbox.id, element)

    def delete_on_server(self, message_id: str) -> None:
        for item in self.standin.store.list_items(self.address, "inbox"):
            if item.text("InternetMessageId") == message_id:
                self.standin.store.delete(item)
                return
        raise AssertionError(f"no delivered message {message_id}")

    def sent_messages(self) -> list[bytes]:
        out = []
        for item in self.standin.store.list_items(self.address, "sentitems"):
            mime = item.text("MimeContent")
            if mime:
                out.append(base64.b64decode(mime))
        return out


class TestEwsContract(MailboxContract):
    @pytest.fixture
    def harness(self, standin: EwsStandIn, make_store: StoreFactory) -> EwsHarness:
        return EwsHarness(standin=standin, store=make_store())


# ---- EWS specifics ------------------------------------------------------------------------------


def test_bulk_create_is_batched_and_a_quiet_change_read_costs_one_request(
    standin: EwsStandIn, make_store: StoreFactory
) -> None:
    store = make_store()
    contacts = [ContactItem(id="", given_name=f"K{n:03d}", surname="Bulk") for n in range(250)]
    standin.server.reset_counts()
    results = store.create_many(FolderKind.CONTACTS, contacts)
    assert all(r.ok for r in results) and len({r.id for r in results}) == 250
    creates = [p for m, p in standin.server.request_log]
    assert len(creates) == 3  # 100 + 100 + 50 per CreateItem, nothing else (distinguished folder ids)
    cursor = drain(store, FolderKind.CONTACTS, None, page_size=512).cursor
    standin.server.reset_counts()
    quiet = drain(store, FolderKind.CONTACTS, cursor)
    assert quiet.created == quiet.updated == quiet.deleted == []
    assert standin.server.request_count == 1


def test_named_properties_are_stamped_in_ps_public_strings(
    standin: EwsStandIn, make_store: StoreFactory
) -> None:
    store = make_store()
    (created,) = ok_values(store.create_many(FolderKind.TASKS, [_task()]))
    (result,) = store.set_named_props(
        FolderKind.TASKS,
        [(created.id, NamedProps(crmid="c-1", crmlinkstate=LinkState.TRACKED, crmregardingobjectid="r-1"))],
    )
    assert result.ok and result.value
    stored = standin.store.get(created.id)
    assert stored is not None
    assert stored.extended("crmid") == "c-1"
    assert stored.extended("crmlinkstate") == "2"
    assert stored.extended("crmregardingobjectid") == "r-1"
    uris = [p.find(t("ExtendedFieldURI")) for p in stored.element.findall(t("ExtendedProperty"))]
    assert {(u.get("PropertySetId") or "").upper() for u in uris} == {"00020329-0000-0000-C000-000000000046"}
    # unstamping removes the property
    store.set_named_props(FolderKind.TASKS, [(created.id, NamedProps(crmlinkstate=LinkState.NOT_TRACKED))])
    stored = standin.store.get(created.id)
    assert stored is not None and stored.extended("crmid") is None
    assert stored.extended("crmlinkstate") == "0"


def test_appointments_never_send_invitations(standin: EwsStandIn, make_store: StoreFactory) -> None:
    store = make_store()
    start = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    item = AppointmentItem(
        id="",
        subject="Leise",
        start=start,
        end=start + dt.timedelta(hours=1),
        required_attendees=[("Jörg Bär", "joerg.baer@contoso.com")],
    )
    (created,) = ok_values(store.create_many(FolderKind.CALENDAR, [item]))
    assert isinstance(created, AppointmentItem)
    assert created.organizer == ("Anna Schmidt", ANNA)
    assert created.uid
    assert created.required_attendees == [("Jörg Bär", "joerg.baer@contoso.com")]
    created.subject = "Leise 2"
    ok_values(store.update_many(FolderKind.CALENDAR, [created]))
    assert standin.store.list_items("joerg.baer@contoso.com", "inbox") == []
    # the mailbox's zone is kept: times come back in Europe/Berlin, same instant
    (read,) = ok_values(store.get_many(FolderKind.CALENDAR, [created.id]))
    assert isinstance(read, AppointmentItem) and read.start == start
    assert read.start is not None and read.start.utcoffset() == dt.timedelta(hours=1)


def test_all_day_appointment_round_trip(make_store: StoreFactory) -> None:
    store = make_store()
    berlin = dt.datetime(2026, 12, 24, tzinfo=dt.UTC).astimezone().tzinfo
    assert berlin is not None
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Berlin")
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


def test_sent_message_lands_in_sent_items_with_named_headers(
    standin: EwsStandIn, make_store: StoreFactory
) -> None:
    from wizard.mailbox.base import OutgoingMessage

    store = make_store()
    message_id = store.send(
        OutgoingMessage(
            sender=("Anna Schmidt", ANNA),
            to=[("Jörg", "joerg.baer@contoso.com")],
            subject="Angebot",
            body_text="Hallo",
            extra_headers=[("X-D365-Tracking", "CRM:0001")],
        )
    )
    (received,) = standin.store.list_items("joerg.baer@contoso.com", "inbox")
    assert received.text("InternetMessageId") == message_id
    ids = drain(store, FolderKind.SENT_ITEMS, None).created
    (sent,) = ok_values(store.get_many(FolderKind.SENT_ITEMS, ids))
    assert isinstance(sent, MailItem)
    assert sent.message_id == message_id and sent.header("X-D365-Tracking") == "CRM:0001"


def test_root_sync_org_is_visible_to_another_store(make_store: StoreFactory) -> None:
    first, second = make_store(), make_store()
    first.set_root_sync_org("4f1c33a9-0b5e-4f0c-9d4e-7b3d0c2d8e11")
    assert second.root_sync_org() == "4f1c33a9-0b5e-4f0c-9d4e-7b3d0c2d8e11"


# ---- connection, auth and autodiscover ----------------------------------------------------------


def test_wrong_password_is_authentication_failed(make_store: StoreFactory) -> None:
    store = make_store(password="wrong-secret-42")
    with pytest.raises(AuthenticationFailed) as caught:
        store.check()
    assert not caught.value.retriable
    assert "wrong-secret-42" not in str(caught.value) + caught.value.user_text + repr(store)


def test_untrusted_certificate_is_tls_failure(make_store: StoreFactory, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with pytest.raises(TLSFailure):
        make_store(ca_file=str(other)).check()


def test_ca_file_wins_over_requests_ca_bundle(
    make_store: StoreFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    make_store().check()  # our CA file is used although the environment points elsewhere


def test_unreachable_server(make_store: StoreFactory) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        store = make_store(ews_url=f"https://127.0.0.1:{port}/EWS/Exchange.asmx", max_wait=0.0)
        with pytest.raises(ServerUnreachable) as caught:
            store.check()
    assert caught.value.retriable


def test_basic_over_plain_http_is_refused(standin: EwsStandIn, sandbox_tls: SandboxTLS) -> None:
    settings = settings_for(standin, sandbox_tls, ews_url="http://127.0.0.1:1/EWS/Exchange.asmx")
    with pytest.raises(TLSFailure):
        EwsStore(settings, password="x")


def test_autodiscover_with_an_explicit_url(standin: EwsStandIn, sandbox_tls: SandboxTLS) -> None:
    settings = settings_for(
        standin,
        sandbox_tls,
        address=NANCY_SMTP,
        username=NANCY_UPN,
        ews_url=None,
        server_build=None,
        autodiscover_urls=("https://127.0.0.1:1/autodiscover/autodiscover.svc", standin.autodiscover_url),
    )
    with EwsStore(settings, password="Sandbox-Nancy-2026") as store:
        assert store.folder(FolderKind.INBOX).display_name == "Inbox"
        assert store.ews_url == standin.url
        assert store.address == NANCY_SMTP


def test_oauth_bearer_tokens_and_refresh_after_401(
    standin: EwsStandIn, sandbox_tls: SandboxTLS, signer: TokenSigner, directory: Directory
) -> None:
    user = directory.user(ANNA)
    assert user is not None
    oid, upn = user.oid, user.upn

    class Provider:
        def __init__(self) -> None:
            self.calls: list[bool] = []
            self.stale = True

        def token(self, *, force_refresh: bool = False) -> str:
            self.calls.append(force_refresh)
            if force_refresh:
                self.stale = False
            audience = "https://expired.example" if self.stale else standin.base_url
            return signer.issue(oid=oid, upn=upn, tenant_id=directory.tenant_id, audience=audience)

    provider = Provider()
    settings = settings_for(standin, sandbox_tls, auth=EwsAuth.OAUTH2)
    with EwsStore(settings, token_provider=provider) as store:
        store.check()
        assert True in provider.calls  # the 401 led to one forced refresh, then success
        assert drain(store, FolderKind.CONTACTS, None).cursor


# ---- faults ---------------------------------------------------------------------------------------


def test_server_busy_is_retried_within_the_budget(standin: EwsStandIn, make_store: StoreFactory) -> None:
    store = make_store()
    store.check()
    standin.server.faults.throttle(retry_after=0.05, remaining=2)
    assert drain(store, FolderKind.CONTACTS, None).created == []
    assert standin.server.faults.hits["throttle"] == 2


def test_server_busy_beyond_the_budget_is_throttled(standin: EwsStandIn, make_store: StoreFactory) -> None:
    store = make_store(max_wait=1.0)
    store.check()
    standin.server.faults.throttle(retry_after=30)
    with pytest.raises(Throttled) as caught:
        drain(store, FolderKind.CONTACTS, None)
    assert caught.value.retry_after == 30
    assert caught.value.retriable


def test_many_short_back_offs_are_bounded(standin: EwsStandIn, make_store: StoreFactory) -> None:
    store = make_store(max_wait=0.3)
    store.check()
    standin.server.faults.throttle(retry_after=0.1)  # forever
    with pytest.raises(Throttled):
        drain(store, FolderKind.CONTACTS, None)
    assert standin.server.faults.hits["throttle"] <= 4


def test_dropped_connection_is_server_unreachable(standin: EwsStandIn, make_store: StoreFactory) -> None:
    store = make_store()
    store.check()
    standin.server.faults.drop(remaining=1)
    with pytest.raises(ServerUnreachable):
        drain(store, FolderKind.CONTACTS, None)
    assert drain(store, FolderKind.CONTACTS, None).cursor  # the store recovers


def test_internal_server_error_is_a_retriable_protocol_error(
    standin: EwsStandIn, make_store: StoreFactory
) -> None:
    from wizard.mailbox.base import ProtocolError

    store = make_store()
    store.check()
    standin.server.faults.error(status=500, remaining=1)
    with pytest.raises(ProtocolError) as caught:
        store.get_many(FolderKind.CONTACTS, ["x"])
    assert caught.value.retriable


def test_stale_change_key_is_a_conflict_per_item(make_store: StoreFactory) -> None:
    from wizard.mailbox.base import Conflict

    store = make_store()
    (a, b) = ok_values(store.create_many(FolderKind.CONTACTS, [_contact("A"), _contact("B")]))
    assert isinstance(a, ContactItem) and isinstance(b, ContactItem)
    a2 = ContactItem(**{**vars(a), "company": "neu"})
    ok_values(store.update_many(FolderKind.CONTACTS, [a2]))
    a.company, b.company = "alt", "ok"
    stale, fine = store.update_many(FolderKind.CONTACTS, [a, b])
    assert isinstance(stale.error, Conflict)
    assert fine.ok


def _contact(name: str) -> ContactItem:
    return ContactItem(id="", given_name=name, surname="Test", display_name=f"{name} Test")


def _task() -> TaskItem:
    return TaskItem(id="", subject="Nachfassen", due=dt.date(2026, 12, 4))


def test_delivered_message_keeps_headers(standin: EwsStandIn, make_store: StoreFactory) -> None:
    store = make_store()
    raw, message_id = make_message("Kopfzeilen")
    EwsHarness(standin=standin, store=store).deliver(raw)
    ids = drain(store, FolderKind.INBOX, None).created
    (item,) = ok_values(store.get_many(FolderKind.INBOX, ids))
    assert isinstance(item, MailItem)
    assert item.header("Message-ID") == message_id
    assert item.is_read is False


def test_transient_503_is_retried(standin: EwsStandIn, make_store: StoreFactory) -> None:
    store = make_store()
    store.check()
    standin.server.faults.error(status=503, remaining=1)
    assert drain(store, FolderKind.TASKS, None).cursor
    assert standin.server.faults.hits["error"] == 1


def test_registrations_do_not_outlive_the_store(make_store: StoreFactory) -> None:
    from exchangelib import Contact

    store = make_store()
    store.check()
    assert Contact.get_field_by_fieldname("d365_crmid")
    store.close()
    with pytest.raises(ValueError):
        Contact.get_field_by_fieldname("d365_crmid")
    store.check()  # a closed store reconnects on its next call
    assert Contact.get_field_by_fieldname("d365_crmid")


def test_find_by_crmid_and_scan_links_as_a_fresh_store_s_first_request(make_store: StoreFactory) -> None:
    """exchangelib fills a well-known folder's DistinguishedFolderId lazily while building FindItem, which
    changes the folder's hash while it is a key of the paging table: KeyError, unless the id is set first."""
    writer = make_store()
    a, b, _ = ok_values(writer.create_many(FolderKind.CONTACTS, [_contact(n) for n in ("Ann", "Bob", "Cy")]))
    writer.set_named_props(
        FolderKind.CONTACTS,
        [
            (a.id, NamedProps(crmid="crm-1", crmlinkstate=LinkState.TRACKED)),
            (b.id, NamedProps(crmid="crm-2")),
        ],
    )
    found = make_store().find_by_crmid(FolderKind.CONTACTS, "crm-1")
    assert [item.id for item in found] == [a.id]
    assert found[0].props.crmid == "crm-1"
    assert make_store().find_by_crmid(FolderKind.CONTACTS, "crm-3") == []
    assert dict(make_store().scan_links(FolderKind.CONTACTS)).keys() == {a.id, b.id}
