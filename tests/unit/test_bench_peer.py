"""bench/bench_peer.py without its peer: the figures it derives and its refusal when the peer is missing.
(The peer itself, vdirsyncer + Radicale, is the ``bench`` extra: the lead runs the benchmark; see
docs/PERFORMANCE.md.)"""

from __future__ import annotations

import pytest

from bench import bench_peer


def test_slope_is_the_cpu_per_extra_contact() -> None:
    points = {1000: {"cpu_seconds": 3.0}, 2000: {"cpu_seconds": 5.0}, 4000: {"cpu_seconds": 9.0}}
    assert bench_peer.slope(points) == pytest.approx(0.002)
    assert bench_peer.slope({1000: {"cpu_seconds": 3.0}}) is None


def test_render_shows_both_sides_and_the_ratios() -> None:
    ours = {"seconds": 10.0, "cpu_seconds": 2.0, "maxrss_mib": 120.0, "requests": 20}
    peer = {"seconds": 100.0, "cpu_seconds": 4.0, "maxrss_mib": 60.0, "requests": 1001}
    result = {
        "sizes": [1000],
        "repeat": 1,
        "medians": {"d365sync": {1000: ours}, "vdirsyncer": {1000: peer}},
        "loadavg": 7.5,
    }
    text = bench_peer.render(result)
    assert text.startswith("## Peer") and "load average 7.5" in text
    assert "| 1,000    | d365sync " in text and "| 2.00 " in text  # CPU ms per contact
    ratio_row = next(line for line in text.splitlines() if "ratio" in line)
    assert [cell.strip() for cell in ratio_row.split("|")[3:7]] == ["0.50", "0.10", "0.02", "2.00"]


def test_vcards_are_valid_and_distinct() -> None:
    card = bench_peer.vcard(7)
    assert card.startswith("BEGIN:VCARD\r\n") and card.endswith("END:VCARD\r\n")
    assert "UID:bench-000007" in card and bench_peer.vcard(8) != card


def test_a_missing_peer_is_a_clear_refusal(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_peer.main(["--n", "10", "--peer-python", "/bin/false"]) == 2
    assert "d365sync[bench]" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench_peer.main(["--n", "ten"])
