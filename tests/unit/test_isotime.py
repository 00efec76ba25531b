"""wizard.isotime: one way to write a moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from wizard.isotime import iso_z, now_z


def test_utc_to_the_second_with_z() -> None:
    assert iso_z(datetime(2026, 12, 7, 21, 58, 53, 123456, tzinfo=UTC)) == "2026-12-07T21:58:53Z"


def test_other_zones_and_naive_values_are_written_in_utc() -> None:
    berlin = timezone(timedelta(hours=1))
    assert iso_z(datetime(2026, 12, 7, 22, 58, 53, tzinfo=berlin)) == "2026-12-07T21:58:53Z"
    assert iso_z(datetime(2026, 12, 7, 21, 58, 53)) == "2026-12-07T21:58:53Z"


def test_precise_keeps_the_fraction_where_there_is_one() -> None:
    assert (
        iso_z(datetime(2026, 12, 7, 21, 58, 53, 120000, tzinfo=UTC), precise=True)
        == "2026-12-07T21:58:53.120000Z"
    )
    assert iso_z(datetime(2026, 12, 7, 21, 58, 53, tzinfo=UTC), precise=True) == "2026-12-07T21:58:53Z"


def test_none_stays_none() -> None:
    assert iso_z(None) is None


def test_now_is_parseable_and_utc() -> None:
    parsed = datetime.fromisoformat(now_z().replace("Z", "+00:00"))
    assert abs(parsed - datetime.now(UTC)) < timedelta(seconds=5)
