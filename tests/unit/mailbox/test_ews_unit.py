"""EWS backend without a server: conversions, error translation, back-off budget, registrations, settings."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from exchangelib import Contact, Credentials, Task
from exchangelib.errors import (
    ErrorChangeKeyRequiredForWriteOperations,
    ErrorInternalServerError,
    ErrorInvalidChangeKey,
    ErrorInvalidSyncStateData,
    ErrorIrresolvableConflict,
    ErrorItemNotFound,
    ErrorNonExistentMailbox,
    ErrorServerBusy,
    ErrorTimeoutExpired,
    RateLimitError,
    TransportError,
    UnauthorizedError,
)

import wizard.mailbox.ews.autodiscover as ews_autodiscover
from wizard.errors import Severity
from wizard.mailbox.base import (
    AuthenticationFailed,
    Conflict,
    ContactItem,
    FolderKind,
    ItemNotFound,
    LinkState,
    MailboxError,
    NamedProps,
    PhysicalAddress,
    ProtocolError,
    Recurrence,
    RecurrencePattern,
    ServerUnreachable,
    TaskItem,
    TaskStatus,
    Throttled,
    TLSFailure,
)
from wizard.mailbox.ews import EwsAuth, EwsSettings, EwsStore
from wizard.mailbox.ews.autodiscover import autodiscover_candidates
from wizard.mailbox.ews.connection import BoundedBackOff, make_adapter_class
from wizard.mailbox.ews.convert import contact_from_ews, contact_to_fields, task_from_ews, task_to_fields
from wizard.mailbox.ews.errors import InvalidSyncState, translate_error
from wizard.mailbox.ews.props import (
    PROP_ATTRS,
    deregister_named_properties,
    props_from_item,
    props_to_fields,
    register_named_properties,
)
from wizard.mailbox.ews.recurrence import recurrence_from_ews, recurrence_to_ews

# ---- recurrence --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rec",
    [
        Recurrence(RecurrencePattern.DAILY, dt.date(2026, 1, 5), interval=3, occurrences=4),
        Recurrence(
            RecurrencePattern.WEEKLY,
            dt.date(2026, 1, 5),
            interval=2,
            weekdays=(0, 2, 4),
            first_day_of_week=6,
            end_date=dt.date(2026, 6, 30),
        ),
        Recurrence(RecurrencePattern.ABSOLUTE_MONTHLY, dt.date(2026, 1, 15), interval=1, day_of_month=15),
        Recurrence(
            RecurrencePattern.RELATIVE_MONTHLY, dt.date(2026, 1, 5), interval=2, weekdays=(1,), week_index=4
        ),
        Recurrence(
            RecurrencePattern.RELATIVE_MONTHLY, dt.date(2026, 1, 1), weekdays=(0, 1, 2, 3, 4), week_index=0
        ),
        Recurrence(RecurrencePattern.ABSOLUTE_YEARLY, dt.date(2026, 12, 24), day_of_month=24, month=12),
        Recurrence(
            RecurrencePattern.RELATIVE_YEARLY, dt.date(2026, 3, 1), weekdays=(5, 6), week_index=0, month=3
        ),
    ],
    ids=lambda r: r.describe(),
)
def test_recurrence_round_trip(rec: Recurrence) -> None:
    assert recurrence_from_ews(recurrence_to_ews(rec)) == rec


def test_weekly_recurrence_without_days_uses_the_start_day() -> None:
    rec = Recurrence(RecurrencePattern.WEEKLY, dt.date(2026, 1, 7))  # a Wednesday
    assert recurrence_to_ews(rec).pattern.weekdays == ["Wednesday"]


def test_no_recurrence() -> None:
    assert recurrence_from_ews(None) is None


# ---- contacts and tasks ------------------------------------------------------------------------------


def test_contact_fields_round_trip() -> None:
    item = ContactItem(
        id="",
        given_name="Jürgen",
        surname="Müller",
        display_name="Jürgen Müller",
        company="Contoso GmbH",
        department="Einkauf",
        job_title="Leiter",
        emails=["j@contoso.example", "jm@privat.example"],
        phones={
            "business": "+49 1",
            "mobile": "+49 2",
            "fax": "+49 3",
            "home": "+49 4",
            "business2": "+49 5",
        },
        business_address=PhysicalAddress(
            street="Hauptstr. 1", city="München", postal_code="80331", country="DE"
        ),
        home_address=PhysicalAddress(city="Köln"),
        web_page="https://contoso.example",
        birthday=dt.date(1970, 5, 17),
        notes="Notiz",
        categories=["Kunde"],
    )
    xitem = Contact(id="AAA", changekey="CK", **contact_to_fields(item))
    back = contact_from_ews(xitem)
    assert (back.id, back.change_key) == ("AAA", "CK")
    back.id, back.change_key = "", None
    assert back == item


def test_contact_display_name_is_derived_when_missing() -> None:
    assert (
        contact_to_fields(ContactItem(id="", given_name="Max", surname="Muster"))["display_name"]
        == "Max Muster"
    )
    assert contact_to_fields(ContactItem(id="", company="Fabrikam"))["display_name"] == "Fabrikam"
    assert contact_to_fields(ContactItem(id=""))["display_name"] == "-"


def test_empty_contact_fields_are_removed_not_sent_empty() -> None:
    fields = contact_to_fields(ContactItem(id="", display_name="x"))
    assert fields["email_addresses"] is None and fields["physical_addresses"] is None
    assert fields["company_name"] is None


def test_task_mapping() -> None:
    item = TaskItem(
        id="",
        subject="Angebot",
        body="Text",
        start=dt.date(2026, 1, 2),
        due=dt.date(2026, 1, 9),
        status=TaskStatus.WAITING,
        percent_complete=40,
        importance="high",
        categories=["A"],
    )
    fields = task_to_fields(item)
    assert (fields["status"], fields["importance"], int(fields["percent_complete"])) == (
        "WaitingOnOthers",
        "High",
        40,
    )
    back = task_from_ews(Task(id="T", changekey="C", **fields))
    back.id, back.change_key = "", None
    assert back == item
    done = task_to_fields(TaskItem(id="", status=TaskStatus.COMPLETED, percent_complete=10))
    assert int(done["percent_complete"]) == 100


# ---- named properties ----------------------------------------------------------------------------------


def test_named_props_to_fields_and_back() -> None:
    props = NamedProps(
        crmid="c",
        crmlinkstate=LinkState.PENDING,
        crmorgid="o",
        crmregardingobjectid="r",
        crmregardingobjecttypecode=2,
        crmownersystemuserid="u",
    )
    fields = props_to_fields(props)
    assert fields["d365_crmlinkstate"] == 1 and fields["d365_crmregardingobjecttypecode"] == 2
    assert props_from_item(SimpleNamespace(**fields)) == props
    assert props_to_fields(NamedProps())["d365_crmid"] is None


def _registered(cls: Any) -> bool:
    try:
        cls.get_field_by_fieldname("d365_crmid")
    except Exception:
        return False
    return True


def test_registrations_are_counted_and_removed() -> None:
    assert not _registered(Contact), "a previous test leaked a registration"
    register_named_properties()
    register_named_properties()
    assert _registered(Contact)
    deregister_named_properties()
    assert _registered(Contact)
    deregister_named_properties()
    assert not _registered(Contact)
    deregister_named_properties()  # more releases than holds: harmless
    assert len(PROP_ATTRS) == 6


# ---- error translation ---------------------------------------------------------------------------------


def _tls_transport_error() -> TransportError:
    try:
        try:
            raise requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED")
        except requests.exceptions.SSLError as exc:
            raise TransportError(str(exc)) from None
    except TransportError as wrapped:
        wrapped.__context__ = requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED")
        return wrapped


@pytest.mark.parametrize(
    ("exc", "expected", "severity"),
    [
        (ErrorServerBusy("busy", back_off=2.5), Throttled, Severity.ACCOUNT),
        (RateLimitError("max", wait=30), Throttled, Severity.ACCOUNT),
        (UnauthorizedError("401"), AuthenticationFailed, Severity.ACCOUNT),
        (ErrorItemNotFound("gone"), ItemNotFound, Severity.ITEM),
        (ErrorIrresolvableConflict("ck"), Conflict, Severity.ITEM),
        (ErrorChangeKeyRequiredForWriteOperations("ck"), Conflict, Severity.ITEM),
        (ErrorInvalidChangeKey("ck"), Conflict, Severity.ITEM),
        (ErrorTimeoutExpired("dropped"), ServerUnreachable, Severity.ACCOUNT),
        (requests.exceptions.ConnectionError("refused"), ServerUnreachable, Severity.ACCOUNT),
        (ErrorInternalServerError("500"), ProtocolError, Severity.ACCOUNT),
        (ErrorInvalidSyncStateData("bad"), InvalidSyncState, Severity.KIND),
        (_tls_transport_error(), TLSFailure, Severity.ACCOUNT),
    ],
)
def test_translate_error(exc: Exception, expected: type[MailboxError], severity: Severity) -> None:
    error = translate_error(exc)
    assert type(error) is expected
    assert error.severity is severity
    assert error.user_text


def test_throttled_carries_the_back_off() -> None:
    busy = translate_error(ErrorServerBusy("busy", back_off=2.5))
    assert isinstance(busy, Throttled) and busy.retry_after == 2.5 and busy.retriable
    limited = translate_error(RateLimitError("max", wait=30))
    assert isinstance(limited, Throttled) and limited.retry_after == 30


def test_missing_mailbox_is_not_retriable() -> None:
    error = translate_error(ErrorNonExistentMailbox("nobody"))
    assert type(error) is MailboxError and not error.retriable


# ---- back-off budget -------------------------------------------------------------------------------------


def test_back_off_budget_is_total_not_per_wait() -> None:
    policy = BoundedBackOff(max_wait=1.0)
    policy.back_off(0.4)
    policy.back_off(0.4)
    with pytest.raises(RateLimitError) as caught:
        policy.back_off(0.4)
    assert caught.value.wait == 0.4
    policy.reset()
    assert policy.back_off_until is None
    policy.back_off(0.9)
    with pytest.raises(RateLimitError):
        BoundedBackOff(max_wait=1.0).back_off(5)


def test_401_is_a_login_failure_not_throttling() -> None:
    policy = BoundedBackOff(max_wait=10)
    response = SimpleNamespace(
        status_code=401, url="https://mail.example/EWS/Exchange.asmx", headers={}, content=b""
    )
    with pytest.raises(UnauthorizedError):
        policy.raise_response_errors(response)


# ---- settings and store construction (no network) ----------------------------------------------------


def _settings(**overrides: object) -> EwsSettings:
    values: dict[str, object] = {
        "address": "anna@contoso.example",
        "ews_url": "https://mail.contoso.example/EWS/Exchange.asmx",
    }
    values.update(overrides)
    return EwsSettings(**values)  # type: ignore[arg-type]


def test_credentials_are_required_and_never_shown() -> None:
    with pytest.raises(ValueError):
        EwsStore(_settings(auth=EwsAuth.OAUTH2))
    with pytest.raises(ValueError):
        EwsStore(_settings(auth=EwsAuth.NTLM))
    store = EwsStore(_settings(username="CONTOSO\\anna"), password="Geheim-123")
    assert "Geheim-123" not in repr(store)
    assert store._auth_type == "NTLM"
    credentials = store._make_credentials()
    assert credentials.username == "CONTOSO\\anna"
    assert "Geheim-123" not in repr(credentials)


@pytest.mark.parametrize(
    ("auth", "url", "allowed"),
    [
        (EwsAuth.BASIC, "http://127.0.0.1:8080/EWS/Exchange.asmx", False),
        (EwsAuth.OAUTH2, "http://localhost/EWS/Exchange.asmx", False),
        (EwsAuth.NTLM, "http://127.0.0.1/EWS/Exchange.asmx", True),
        (EwsAuth.NTLM, "http://mail.contoso.example/EWS/Exchange.asmx", False),
        (EwsAuth.BASIC, "https://mail.contoso.example/EWS/Exchange.asmx", True),
    ],
)
def test_plain_http_policy(auth: EwsAuth, url: str, allowed: bool) -> None:
    class Tokens:
        def token(self, *, force_refresh: bool = False) -> str:
            return "t"

    def make() -> EwsStore:
        return EwsStore(_settings(auth=auth, ews_url=url), password="x", token_provider=Tokens())

    if allowed:
        make()
    else:
        with pytest.raises(TLSFailure):
            make()


def test_cursor_of_another_folder_or_foreign_text_is_unusable() -> None:
    store = EwsStore(_settings(), password="x")
    cursor = store._encode_cursor(FolderKind.CONTACTS, "STATE")
    assert store._decode_cursor(FolderKind.CONTACTS, cursor) == ("STATE", True)
    assert store._decode_cursor(FolderKind.CALENDAR, cursor) == (None, False)
    assert store._decode_cursor(FolderKind.CONTACTS, "garbage") == (None, False)
    assert store._decode_cursor(FolderKind.CONTACTS, None) == (None, True)


def test_capabilities() -> None:
    caps = EwsStore(_settings(), password="x").capabilities
    assert caps.readable == frozenset(FolderKind)
    assert caps.writable == {FolderKind.CONTACTS, FolderKind.CALENDAR, FolderKind.TASKS}
    assert caps.named_properties and caps.change_keys and caps.sent_items_copy and caps.root_folder_props


def test_batch_size_is_bounded() -> None:
    with pytest.raises(ValueError):
        EwsStore(_settings(batch_size=0), password="x")


def test_autodiscover_candidates_follow_exchangelib_order() -> None:
    assert autodiscover_candidates("anna@Contoso.example") == [
        "https://contoso.example/autodiscover/autodiscover.svc",
        "https://autodiscover.contoso.example/autodiscover/autodiscover.svc",
    ]


def test_unknown_timezone_is_refused_up_front() -> None:
    with pytest.raises(Exception):  # noqa: B017 - exchangelib/zoneinfo raise their own types
        EwsStore(_settings(timezone="Mars/Olympus_Mons"), password="x")


def _closed_port_url() -> tuple[str, object]:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound, not listening: connection refused
    return f"https://127.0.0.1:{sock.getsockname()[1]}/autodiscover/autodiscover.svc", sock


def test_autodiscover_tries_srv_last_and_then_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    url, sock = _closed_port_url()
    asked: list[str] = []
    monkeypatch.setattr(ews_autodiscover, "autodiscover_candidates", lambda address: [url])

    def srv(domain: str) -> list[str]:
        asked.append(domain)
        return []

    monkeypatch.setattr(ews_autodiscover, "_srv_candidates", srv)
    with pytest.raises(ServerUnreachable) as caught:
        ews_autodiscover.autodiscover(
            "anna@contoso.example",
            Credentials("anna@contoso.example", "x"),
            auth_type="basic",
            adapter_cls=make_adapter_class(None),
        )
    sock.close()  # type: ignore[attr-defined]
    assert asked == ["contoso.example"]
    assert "EWS address" in caught.value.user_text


def test_autodiscover_with_explicit_candidates_never_asks_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    url, sock = _closed_port_url()
    monkeypatch.setattr(ews_autodiscover, "_srv_candidates", lambda domain: pytest.fail("DNS asked"))
    with pytest.raises(ServerUnreachable):
        ews_autodiscover.autodiscover(
            "anna@contoso.example",
            Credentials("anna@contoso.example", "x"),
            auth_type="basic",
            adapter_cls=make_adapter_class(None),
            candidates=[url, "http://mail.contoso.example/autodiscover/autodiscover.svc"],
        )
    sock.close()  # type: ignore[attr-defined]
