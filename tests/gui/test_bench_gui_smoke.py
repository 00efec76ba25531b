"""The GUI benchmark at tiny sizes: both measurements run and produce consistent numbers (no timing asserts).

CI never judges the timings (they depend on the machine); it checks that the first-paint child really
paints each window, that every progress signal of the fake engine reaches the window, and that the
section renders and lands between its markers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import bench_gui
from bench.bench_gui import FirstPaint, Stall, first_paint, percentile, render, stall
from bench.common import update_section

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("window", bench_gui.WINDOWS)
def test_first_paint_in_a_fresh_process(window: str) -> None:
    result = first_paint(window)
    assert result.window == window
    steps = [result.interpreter_ms, result.imports_ms, result.app_ms, result.built_ms, result.paint_ms]
    assert all(step > 0 for step in steps)
    assert steps == sorted(steps), "the phases must come in order: start, imports, app, built, paint"


def test_first_paint_rejects_an_unknown_window() -> None:
    with pytest.raises(ValueError, match="unknown window"):
        first_paint("tray")


@pytest.mark.parametrize(("every", "io_wait_us"), [(1, 0), (25, 0), (25, 20)])
def test_stall_run_delivers_the_latest_progress(qapp: Any, every: int, io_wait_us: int) -> None:
    result = stall(300, every=every, work_rounds=1, io_wait_us=io_wait_us, timeout_s=30)
    per_kind = 300 // len(bench_gui.KINDS)
    expected = len(bench_gui.KINDS) * (per_kind // every + (1 if per_kind % every else 0))
    assert result.progress_emitted == expected
    # Progress is coalesced (engine_adapter._SignalReporter): the window sees at most every report (plus one
    # "reading …" report per kind with no total), never more, and always the last one.
    assert 1 <= result.progress_seen <= result.progress_emitted + len(bench_gui.KINDS)
    assert result.window_progress_text.endswith(f"{per_kind} of {per_kind}")
    assert result.ticks >= 2 and len(result.gaps_ms) == result.ticks - 1
    assert result.max_stall_ms >= result.p99_stall_ms >= 0
    assert result.engine_s > 0 and result.drain_ms >= 0
    assert result.io_wait_us == io_wait_us
    assert result.none_drain_per_call >= 0 and result.none_refs_at_start > 0 and result.none_per_progress >= 0


def test_idle_floor_measures_the_timer(qapp: Any) -> None:
    worst, p99 = bench_gui.idle_stall(0.1)
    assert worst >= p99 >= 0


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 99) == 0.0


def _stall(every: int, max_ms: float, drain_ms: float = 5.0, **extra: Any) -> Stall:
    extra.setdefault("io_wait_us", 0)
    return Stall(
        items=10_000, every=every, work_rounds=10, ticks=50, max_stall_ms=max_ms, p99_stall_ms=max_ms / 2,
        median_gap_ms=5.1, engine_s=0.5, progress_emitted=10_000 // every,
        progress_seen=10_000 // every + 4, drain_ms=drain_ms, **extra,
    )  # fmt: skip


def test_section_renders_figures_and_findings(tmp_path: Path) -> None:
    paints = {w: FirstPaint(w, 40.0, 600.0, 620.0, 650.0, 700.0) for w in bench_gui.WINDOWS}
    flood = _stall(
        1, 437.6, 300.0, none_drain_per_call=1.0, none_refs_at_start=21_000, none_refs_taken=26_000,
        none_per_progress=4.0,
    )  # fmt: skip
    calm = _stall(25, 6.5, none_refs_taken=300)
    jitter = _stall(25, 107.0, none_refs_taken=250)
    io = _stall(25, 7.0, io_wait_us=50, none_refs_taken=350)
    text = render(paints, 5, [flood, calm, io], [[flood], [calm, jitter], [io]], (2.0, 1.0))
    assert "max 2.0 ms, p99 1.0 ms" in text and "CPU ×10 + 50 µs I/O" in text
    assert text.startswith("## GUI")
    assert "| wizard " in text and "| status " in text and "700" in text
    assert "437.6" in text and "**no**" in text and "| yes " in text
    assert "Why every item misses the target — the event queue floods" in text
    assert "Why every 25th with CPU-only work still stalls — the GIL" in text
    assert "I/O wait per item stays at 7 ms" in text
    assert (
        "none_dealloc" in text
        and "26,000 for the worst run" in text
        and "1,600 for a 10,000-item run" in text
    )

    doc = tmp_path / "PERFORMANCE.md"
    doc.write_text("# Performance\n\n<!-- bench:EWS -->\nkeep me\n<!-- /bench:EWS -->\n", encoding="utf-8")
    update_section(doc, bench_gui.SECTION, text)
    written = doc.read_text(encoding="utf-8")
    assert "keep me" in written
    assert "<!-- bench:GUI -->\n## GUI" in written and written.rstrip().endswith("<!-- /bench:GUI -->")


def test_healthy_runs_render_without_findings() -> None:
    paints = {w: FirstPaint(w, 40.0, 600.0, 620.0, 650.0, 700.0) for w in bench_gui.WINDOWS}
    calm = _stall(25, 6.5)
    text = render(paints, 5, [calm], [[calm]])
    assert "the event queue floods" not in text and "still stalls" not in text and "none_dealloc" not in text


def test_real_stall_runs_a_real_sync_against_the_stand_ins(
    qapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--real N`` at a tiny size: the sandbox process starts, the contacts land in the mailbox through the
    product's status window (engine in its child process), and the figures render into the section."""
    home = bench_gui.os.environ.get("D365SYNC_HOME")
    result = bench_gui.real_stall(20, timeout_s=120)
    assert bench_gui.os.environ.get("D365SYNC_HOME") == home  # the throw-away profile is gone again
    assert result.status == "ok" and result.created == 20
    assert result.ticks >= 2 and result.max_stall_ms >= result.p99_stall_ms >= 0
    fake = stall(40, every=25, work_rounds=1, timeout_s=30)
    paint = FirstPaint("wizard", 1, 2, 3, 4, 5)
    text = render({"wizard": paint}, 1, [fake], [[fake]], (0.1, 0.1), result)
    assert "A real 20-item sync" in text and "(`--real 20`)" in text
