"""bench_engine's memory curve: the table of peak RSS by size and the growth per 1,000 contacts."""

from __future__ import annotations

from typing import Any

from bench import bench_engine


def _point(contacts: int, initial: float, nochange: float) -> dict[str, Any]:
    run = {
        "seconds": 1.0,
        "cpu_ms_per_item": 0.5,
        "crm_requests": 4,
        "ews_requests": 4,
        "authority_requests": 0,
    }
    return {
        "contacts": contacts,
        "initial": {**run, "maxrss_mib": initial},
        "nochange": {**run, "maxrss_mib": nochange},
    }


def test_the_curve_reports_the_growth_of_both_runs_per_thousand_contacts() -> None:
    points = [_point(1000, 80.0, 70.0), _point(10000, 98.0, 70.0), _point(40000, 158.0, 70.0)]
    assert bench_engine._slope(points, "initial") == 2.0
    assert bench_engine._slope(points, "nochange") == 0.0
    text = bench_engine.render_curve(points)
    assert text.startswith("## Engine memory curve") and "| 40,000" in text
    assert "initial sync 2.00 MiB, no-change run 0.00 MiB" in text
    assert "Growth" not in bench_engine.render_curve(points[:1])  # one size: no line to fit
