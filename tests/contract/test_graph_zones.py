"""GraphStore's time zones against the Graph stand-in, end to end: events made in Outlook carry Windows zone
names ("W. Europe Standard Time"), and the product writes its own under their Windows names (CLDR's windowsZones
through ``tzlocal``). "Get event" (learn.microsoft.com/graph/api/event-get), "Support various time zones": times
come back in UTC unless ``Prefer: outlook.timezone`` names a zone; dateTimeTimeZone
(learn.microsoft.com/graph/api/resources/datetimetimezone) lists the Windows names first."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.contract import test_graph_contract as graph_fixtures
from tests.contract.mailbox_contract import ok_values
from tests.contract.test_graph_contract import ANNA, StoreFactory, Tokens
from wizard.mailbox.base import AppointmentItem, FolderKind, Recurrence, RecurrencePattern
from wizard.sandbox.directory import Directory
from wizard.sandbox.graph import GraphStandIn
from wizard.sandbox.tls import SandboxTLS
from wizard.sandbox.tokens import TokenSigner

# the Graph store's fixtures (stand-in, directory, signer, TLS, store factory), shared with test_graph_contract
directory = graph_fixtures.directory
make_store = graph_fixtures.make_store
sandbox_tls = graph_fixtures.sandbox_tls
signer = graph_fixtures.signer
standin = graph_fixtures.standin

BERLIN = ZoneInfo("Europe/Berlin")
WEST_EUROPE = "W. Europe Standard Time"


def _outlook_event(
    server: GraphStandIn, tls: SandboxTLS, tokens: TokenSigner, users: Directory, body: dict[str, Any]
) -> str:
    """An event made by another client (Outlook writes Windows zone names)."""
    token = Tokens(tokens, users, server.base_url).token()
    answer = requests.post(
        server.url + "/me/events",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        verify=str(tls.ca_file),
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


@pytest.mark.parametrize("mailbox_zone", [None, "Europe/Berlin", "America/New_York"])
def test_an_outlook_meeting_in_a_windows_zone_reads_at_its_instant(
    standin: GraphStandIn,
    sandbox_tls: SandboxTLS,
    signer: TokenSigner,
    directory: Directory,
    make_store: StoreFactory,
    mailbox_zone: str | None,
) -> None:
    """09:00 W. Europe Standard Time in January is 08:00 UTC, whatever the mailbox's own zone."""
    event_id = _outlook_event(standin, sandbox_tls, signer, directory, {
        "subject": "Outlook",
        "start": {"dateTime": "2027-01-15T09:00:00.0000000", "timeZone": WEST_EUROPE},
        "end": {"dateTime": "2027-01-15T10:00:00.0000000", "timeZone": WEST_EUROPE},
    })  # fmt: skip
    (read,) = ok_values(make_store(timezone=mailbox_zone).get_many(FolderKind.CALENDAR, [event_id]))
    assert isinstance(read, AppointmentItem) and read.start is not None
    assert read.start == dt.datetime(2027, 1, 15, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("mailbox_zone", [None, "America/New_York"])
def test_an_outlook_series_in_a_windows_zone_has_no_phantom_deletions(
    standin: GraphStandIn,
    sandbox_tls: SandboxTLS,
    signer: TokenSigner,
    directory: Directory,
    make_store: StoreFactory,
    mailbox_zone: str | None,
) -> None:
    """recurrenceRange.recurrenceTimeZone names the zone of the pattern's dates: an 00:30 Berlin series (23:30
    UTC the day before) counted in another zone would lose every occurrence to "deleted"."""
    recurrence = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "firstDayOfWeek": "monday"},
        "range": {"type": "numbered", "numberOfOccurrences": 4, "startDate": "2027-01-04",
                  "recurrenceTimeZone": WEST_EUROPE},
    }  # fmt: skip
    event_id = _outlook_event(standin, sandbox_tls, signer, directory, {
        "subject": "Frühschicht",
        "start": {"dateTime": "2027-01-04T00:30:00.0000000", "timeZone": WEST_EUROPE},
        "end": {"dateTime": "2027-01-04T01:00:00.0000000", "timeZone": WEST_EUROPE},
        "recurrence": recurrence,
    })  # fmt: skip
    (read,) = ok_values(make_store(timezone=mailbox_zone).get_many(FolderKind.CALENDAR, [event_id]))
    assert isinstance(read, AppointmentItem) and read.recurrence is not None
    assert read.recurrence.deleted_occurrences == () and read.recurrence.modified_occurrences == ()
    assert read.start == dt.datetime(2027, 1, 3, 23, 30, tzinfo=dt.UTC)


def test_the_product_writes_windows_zone_names(standin: GraphStandIn, make_store: StoreFactory) -> None:
    """A series is written in the mailbox's zone, under the zone's Windows name (what Outlook and Graph's
    dateTimeTimeZone list use); read back, an 08:00 UTC meeting is 08:00 UTC, never 09:00."""
    store = make_store(timezone="Europe/Berlin")
    start = dt.datetime(2027, 1, 11, 9, 0, tzinfo=BERLIN)  # a Monday, 08:00 UTC
    rec = Recurrence(RecurrencePattern.WEEKLY, start.date(), weekdays=(0,), occurrences=3)
    item = AppointmentItem(
        id="", subject="Serie", start=start, end=start + dt.timedelta(hours=1), recurrence=rec
    )
    (created,) = ok_values(store.create_many(FolderKind.CALENDAR, [item]))
    stored = standin.data.get(standin.mailbox(ANNA), created.id, ("events",))
    assert stored is not None
    assert stored.resource["start"] == {"dateTime": "2027-01-11T09:00:00.0000000", "timeZone": WEST_EUROPE}
    assert stored.resource["recurrence"]["range"]["recurrenceTimeZone"] == WEST_EUROPE
    (read,) = ok_values(store.get_many(FolderKind.CALENDAR, [created.id]))
    assert isinstance(read, AppointmentItem) and read.recurrence is not None
    assert read.start == dt.datetime(2027, 1, 11, 8, 0, tzinfo=dt.UTC)
    assert read.recurrence.deleted_occurrences == ()
