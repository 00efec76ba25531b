"""base.py: the item model's helpers, capabilities and the error family."""

from __future__ import annotations

from datetime import date

import pytest

from wizard.errors import D365SyncError, Severity
from wizard.mailbox import base
from wizard.mailbox.base import (
    PS_PUBLIC_STRINGS,
    TRACKED_CATEGORY,
    Attachment,
    AttachmentOmitted,
    Capabilities,
    ChangeBatch,
    FolderKind,
    ItemResult,
    LinkState,
    MailItem,
    NamedProps,
    Recurrence,
    RecurrencePattern,
    Throttled,
)


def test_constants_match_the_original_product() -> None:
    assert PS_PUBLIC_STRINGS == "00020329-0000-0000-C000-000000000046"
    assert TRACKED_CATEGORY == "Tracked to Dynamics 365"
    assert [s.value for s in LinkState] == [0, 1, 2]


def test_named_props_round_trip() -> None:
    props = NamedProps(
        crmid="{A}", crmlinkstate=LinkState.TRACKED, crmorgid="org", crmregardingobjecttypecode=2
    )
    stored = props.as_dict()
    assert stored == {
        "crmid": "{A}",
        "crmlinkstate": "2",
        "crmorgid": "org",
        "crmregardingobjecttypecode": "2",
    }
    assert NamedProps.from_dict(stored) == props
    assert props.is_linked
    assert not NamedProps(crmid="x", crmlinkstate=LinkState.NOT_TRACKED).is_linked


def test_named_props_tolerate_outlook_spelling_and_junk() -> None:
    props = NamedProps.from_dict({"crmLinkState": "1", "CRMID": "abc", "crmregardingobjecttypecode": "x"})
    assert props.crmlinkstate is LinkState.PENDING
    assert props.crmid == "abc"
    assert props.crmregardingobjecttypecode is None
    assert NamedProps.from_dict({"crmlinkstate": "7"}).crmlinkstate is None


@pytest.mark.parametrize(
    ("recurrence", "text"),
    [
        (
            Recurrence(
                RecurrencePattern.WEEKLY, date(2024, 1, 1), interval=2, weekdays=(0, 2), occurrences=10
            ),
            "every 2 weeks on Monday, Wednesday from 2024-01-01, 10 times",
        ),
        (Recurrence(RecurrencePattern.DAILY, date(2024, 1, 1)), "every day from 2024-01-01"),
        (
            Recurrence(
                RecurrencePattern.RELATIVE_MONTHLY,
                date(2024, 1, 1),
                weekdays=(4,),
                week_index=4,
                end_date=date(2024, 12, 31),
            ),
            "every month on the last Friday from 2024-01-01 until 2024-12-31",
        ),
        (
            Recurrence(RecurrencePattern.ABSOLUTE_YEARLY, date(2024, 3, 15), month=3, day_of_month=15),
            "every year in month 3 on day 15 from 2024-03-15",
        ),
    ],
)
def test_recurrence_describe(recurrence: Recurrence, text: str) -> None:
    assert recurrence.describe() == text


def test_capabilities() -> None:
    caps = Capabilities(readable=frozenset({FolderKind.INBOX}))
    assert caps.can_read(FolderKind.INBOX) and not caps.can_write(FolderKind.INBOX)
    assert not (caps.contacts or caps.appointments or caps.tasks)
    assert not caps.can_send


def test_error_family() -> None:
    expected = {
        base.AuthenticationFailed: (Severity.ACCOUNT, False),
        base.ServerUnreachable: (Severity.ACCOUNT, True),
        base.TLSFailure: (Severity.ACCOUNT, False),
        base.Throttled: (Severity.ACCOUNT, True),
        base.NotSupported: (Severity.KIND, False),
        base.ItemNotFound: (Severity.ITEM, False),
        base.Conflict: (Severity.ITEM, True),
        base.MalformedMessage: (Severity.ITEM, False),
    }
    for cls, (severity, retriable) in expected.items():
        error = cls("technical", user_text="for people")
        assert isinstance(error, base.MailboxError) and isinstance(error, D365SyncError)
        assert (error.severity, error.retriable) == (severity, retriable), cls
        assert error.user_text == "for people"
    throttled = Throttled("slow down", retry_after=2.5)
    assert throttled.retry_after == 2.5 and throttled.user_text == "slow down"


def test_attachment_loads_lazily_once() -> None:
    calls: list[int] = []

    def load() -> bytes:
        calls.append(1)
        return b"data"

    att = Attachment(name="a.bin", loader=load)
    assert att.data() == b"data" and att.data() == b"data"
    assert calls == [1]
    with pytest.raises(AttachmentOmitted):
        Attachment(name="gone.bin").data()
    assert "data" not in repr(Attachment(name="x", content=b"data"))


def test_mail_item_header_first_wins() -> None:
    item = MailItem(id="1", headers=[("Subject", "one"), ("subject", "two")])
    assert item.header("SUBJECT") == "one"
    assert item.header("X-None") is None


def test_small_helpers() -> None:
    assert ChangeBatch(kind=FolderKind.INBOX).is_empty
    assert not ChangeBatch(kind=FolderKind.INBOX, deleted=["x"]).is_empty
    assert ItemResult("x").ok
    assert not ItemResult("x", error=base.ItemNotFound("gone")).ok
