"""The Dataverse benchmark at small sizes: keeps its request-count formulas honest in CI (nothing is timed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("wizard.sandbox.dataverse.server")

from bench import bench_dataverse as bd

CONTACTS = 600
PAGE = 250
CREATES = 1001  # one past the $batch limit: the split into two batches is part of the formula


@pytest.fixture(scope="module")
def standin() -> Iterator[bd.Standin]:
    with bd.standin_in_process(CONTACTS) as (running, _seed_seconds):
        yield running


def test_the_issues_bounds() -> None:
    assert bd.page_bound(10_000, 5_000) == 3
    assert bd.batch_bound(1_000) == 2
    assert bd.pages(10_000, 5_000) == 2 and bd.pages(0, 5_000) == 1 and bd.pages(10_001, 5_000) == 3
    assert bd.batch_requests(1_000) == 1 and bd.batch_requests(1_001) == 2
    assert bd.filter_matches(CONTACTS) == 240


def test_request_counts_match_the_formulas(standin: bd.Standin) -> None:
    results = bd.run_all(standin, contacts=CONTACTS, page_size=PAGE, creates=CREATES, memory=False)
    by_name = {r.name.split(" (")[0]: r for r in results}
    assert set(by_name) == {
        "WhoAmI round trips",
        "full read",
        "fetchXml filter",
        "change tracking, initial",
        "delta read, no changes",
        "$batch create",
    }
    for result in results:
        assert result.problems() == [] and result.ok, result
        assert result.requests == result.expected_requests, result
        assert result.server_requests == result.requests
    assert by_name["full read"].requests == 3 and by_name["full read"].items == CONTACTS
    assert by_name["fetchXml filter"].items == 240 and by_name["fetchXml filter"].requests == 1
    assert by_name["change tracking, initial"].requests == 3
    assert by_name["delta read, no changes"].requests == 1 and by_name["delta read, no changes"].items == 0
    assert by_name["$batch create"].requests == 2 and by_name["$batch create"].items == CREATES


def test_a_broken_bound_is_reported() -> None:
    over = bd.Result("read", 10, 10, 4, 2, 3, 4, 0.1)
    assert not over.ok and "bound is <= 3" in over.problems()[0]
    delta = bd.Result("delta", 0, 0, 2, 1, 1, 2, 0.1, exact=True)
    assert not delta.ok and "bound is == 1" in delta.problems()[0]
    mismatch = bd.Result("read", 10, 10, 2, 2, 3, 3, 0.1)
    assert not mismatch.ok  # the client and the server disagree on what was sent


def test_main_exit_status_and_write_refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "PERFORMANCE.md"
    args = ["--in-process", "--contacts", "60", "--page-size", "25", "--creates", "5", "--repeat", "1"]
    assert bd.main([*args, "--no-memory"]) == 0
    assert "full read (25/page)" in capsys.readouterr().out
    # in-process memory figures would include the server: --write refuses them
    assert bd.main([*args, "--no-memory", "--write", "--output", str(out)]) == 1
    assert not out.exists()


def test_section_markdown_names_bounds_and_machine() -> None:
    results = [bd.Result("full read (250/page)", 600, 600, 3, 3, 3, 3, 0.05, peak_bytes=1 << 20)]
    text = bd.section_markdown(results, contacts=600, page_size=250, creates=10, seed_seconds=0.1)
    assert text.startswith("## Dataverse") and "Python " in text and "logical cores" in text
    assert "| full read (250/page)" in text and "≤ 3" in text and "1.0" in text


def test_engine_benchmark_at_small_sizes_keeps_its_request_counts() -> None:
    """bench_engine at 30/15/15 records and 40 emails: the per-side counts the Engine section explains."""
    from bench import bench_engine as be

    r = be.run(30, 15, 15, 40)
    first, settle, again = r["initial"], r["settle"], r["nochange"]
    assert (first["created_in_mailbox"], first["created_in_crm"]) == (60, 40)
    ops = first["ews_operations"]
    assert ops["CreateItem"] == 3  # 100 items a request, one request per folder here
    assert ops["GetItem"] == 2  # the appointments' UID/organizer (one request) and the page of 40 emails
    assert ops["UpdateItem"] == 1  # the 40 stamps
    assert first["crm_batches"] == 1  # the 40 tracked emails
    # the runs after: one listing per folder (3 record folders, Inbox, Sent Items), nothing read back, the
    # server's version kept (no ConvertId)
    assert settle["ews_operations"] == again["ews_operations"] == {"SyncFolderItems": 5}
    assert settle["crm_requests"] == again["crm_requests"]
    assert again["authority_requests"] == 0  # the token and the authority's discovery answers are cached
    assert first["most_in_flight"]["ews"] >= 1 and first["most_in_flight"]["dataverse"] >= 1
    sizes = be.Sizes(**r["sizes"])
    assert be.crm_read_bound(sizes) == 9 and be.crm_write_bound(sizes) == 1
    text = be.render(r)
    assert text.startswith("## Engine") and "lower bound" in text and "VmHWM" in text
    assert 0 < first["maxrss_mib"] < be.MEMORY_BOUND_MB and r["baseline"]["maxrss_mib"] > 0


def test_offline_benchmark_at_small_sizes_keeps_its_request_counts() -> None:
    """bench_offline at 60/30/20/25/25 rows and 40 queued edits: the per-table counts the Offline section shows."""
    from bench import bench_offline as bo

    sizes = bo.Sizes(contacts=60, accounts=30, leads=20, appointments=25, tasks=25)
    with bo.standin_in_process(sizes) as (running, _seed_seconds):
        figures = bo.run(running, sizes, queued=40)
    # in process, the peak RSS is the test worker's (everything the tests before it loaded), not the client's:
    # the bound is checked by the standalone run (stand-in in a child process) and by `broken` below
    assert [p for p in figures.problems() if not p.startswith("peak RSS")] == []
    for spec in bo.TABLES:
        assert figures.offline[spec.entity_set] == {"metadata": 1, "filter": 1, "rows": 1}, spec
        assert figures.counts[spec.logical_name] == sizes.of(spec.entity_set)
    assert figures.offline_total == figures.offline_server == 5 * 3
    assert figures.refresh_requests == {s.entity_set: 1 for s in bo.TABLES} and figures.refresh_total == 5
    assert (figures.online_total, figures.online_batches, figures.online_updated) == (1, 1, 40)
    assert figures.again_metadata == 0 and figures.search_hits > 0
    assert bo.pages(10_000) == 2 and bo.pages(0) == 1 and bo.pages(5_001) == 2
    text = bo.render(figures, load="1.0 / 1.0 / 1.0")
    assert text.startswith("## Offline") and "load average 1.0" in text and "| contacts" in text
    broken = bo.Figures(sizes, rss_peak_mib=400.0, search_ms=[80.0], refresh_total=6)
    assert any("peak RSS" in p for p in broken.problems()) and any("search" in p for p in broken.problems())
