"""The run cache (issue 15 item 5): what one run keeps for the next, how long it counts, and that a
damaged file is only a cache that is empty."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from wizard.crm.entities import MailboxRecord, UserQuery, WhoAmI
from wizard.sync.run_cache import CLAIM_RECHECK, FRESH_FOR, RunCache

NOW = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
WHO = WhoAmI("u1", "bu1", "org1")
FILTER = UserQuery("q1", "My Outlook Contacts", "<fetch/>", "contact", 256, True, "u1")
ROW = MailboxRecord(
    id="m1",
    emailaddress="anna@contoso.example",
    regarding_id="u1",
    regarding_name=None,
    incomingemaildeliverymethod=None,
    outgoingemaildeliverymethod=None,
    actdeliverymethod=None,
    isactsyncorgflagset=True,
    orgmarkedasprimaryforexchangesync=True,
    exchangesyncstatexml="<d365syncclaim/>",
    etag='W/"7"',
)


def _filled(path: Path) -> RunCache:
    cache = RunCache.load(path)
    cache.remember_whoami("org|url|oauth|anna", WHO)
    cache.remember_filters(NOW, [FILTER])
    cache.remember_contact_company(NOW, False)
    cache.remember_claim(NOW, ROW)
    cache.save()
    return RunCache.load(path)


def test_what_a_run_keeps_is_read_back_by_the_next(tmp_path: Path) -> None:
    cache = _filled(tmp_path / "runs" / "org.json")
    assert cache.whoami("org|url|oauth|anna") == WHO
    assert cache.whoami("org|url|oauth|bob") is None  # another account signed in: asked again
    assert cache.filters(NOW + timedelta(minutes=1)) == [FILTER]
    assert cache.contact_company(NOW) is False
    assert cache.claim_confirmed(NOW + timedelta(minutes=1)) == ROW


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_the_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "org.json"
    _filled(path)
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_kept_reads_count_only_while_fresh(tmp_path: Path) -> None:
    cache = _filled(tmp_path / "org.json")
    assert cache.filters(NOW + FRESH_FOR) is None
    assert cache.contact_company(NOW + FRESH_FOR) is None
    assert cache.claim_confirmed(NOW + CLAIM_RECHECK) is None
    assert cache.claim_row() == ROW  # the row (its ETag) still serves the next heartbeat's If-Match
    assert cache.filters(NOW - timedelta(minutes=5)) is None  # kept by a clock that was ahead
    assert cache.whoami("org|url|oauth|anna") == WHO  # WhoAmI does not age


def test_no_filters_kept_means_read_them(tmp_path: Path) -> None:
    cache = RunCache.load(tmp_path / "org.json")
    cache.remember_filters(NOW, [])
    assert cache.filters(NOW) is None  # the run reads them (and makes the defaults when there are none)


def test_a_lost_claim_is_forgotten_and_forget_drops_the_file(tmp_path: Path) -> None:
    path = tmp_path / "org.json"
    cache = _filled(path)
    cache.remember_claim(NOW, None)
    assert cache.claim_row() is None and cache.claim_confirmed(NOW) is None
    cache.forget()
    assert not path.exists() and RunCache.load(path).whoami("org|url|oauth|anna") is None


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        '{"format": 99, "whoami": {"account": "a", "value": {"user_id": "u"}}}',
        '{"format": 1, "whoami": {"account": "a", "value": {"nonsense": 1}}, "claim": {"at": "x", "row": 3}}',
        '{"format": 1, "filters": {"at": "2026-12-08T09:00:00+00:00", "value": [{"id": "q1"}]}}',
    ],
)
def test_a_damaged_file_is_an_empty_cache(tmp_path: Path, text: str) -> None:
    path = tmp_path / "org.json"
    path.write_text(text, encoding="utf-8")
    cache = RunCache.load(path)
    assert cache.whoami("a") is None
    assert cache.claim_confirmed(NOW) is None and cache.claim_row() is None
    assert cache.filters(NOW) is None


def test_without_a_file_nothing_is_kept() -> None:
    cache = RunCache(None)
    cache.remember_whoami("a", WHO)
    cache.remember_filters(NOW, [FILTER])
    cache.remember_claim(NOW, ROW)
    cache.save()  # no file: nothing written, nothing raised
    assert not cache.enabled
    # not even for the next run of the same engine (an Engine built without the Factory's cache)
    assert cache.whoami("a") is None and cache.filters(NOW) is None
    assert cache.claim_confirmed(NOW) is None and cache.claim_row() is None
