"""The offline summary the status reads on every refresh: an unchanged store is not opened again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from wizard.offline import summary
from wizard.offline.store import OfflineStore, store_path
from wizard.offline.summary import SETTLE_SECONDS, SummaryCache

ORG = "5d1b8c4e-1b2c-4d5e-8f90-0123456789ab"


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every OfflineStore.open the summary makes."""
    seen: list[Path] = []
    real = OfflineStore.open

    def counted(path: str | Path) -> OfflineStore:
        seen.append(Path(path))
        return real(path)

    monkeypatch.setattr(OfflineStore, "open", counted)
    return seen


def _later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """The clock the cache compares the file's time with, ``seconds`` ahead."""
    moment = time.time_ns() + int(seconds * 1e9)
    monkeypatch.setattr(summary, "now_ns", lambda: moment)


def _store(tmp_path: Path) -> Path:
    path = store_path(tmp_path / "data", ORG)
    with OfflineStore.open(path) as store:
        store.set_meta("mode", "offline")
        store.create("account", {"name": "Fabrikam"})
    return path


@pytest.fixture
def made(tmp_path: Path, opens: list[Path]) -> Path:
    path = _store(tmp_path)
    opens.clear()  # count the reads only
    return path


def test_an_unchanged_store_is_not_opened_again(
    made: Path, opens: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = made
    cache = SummaryCache()
    _later(monkeypatch, SETTLE_SECONDS + 1)
    first = cache.read(path)
    assert first is not None and (first.mode, first.queued, first.records) == ("offline", 1, {"account": 1})
    for _ in range(5):
        assert cache.read(path) == first
    assert len(opens) <= 2  # closing the first reader may checkpoint the log once: read once more then


def test_a_change_is_seen_at_the_next_read(made: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = made
    cache = SummaryCache()
    _later(monkeypatch, SETTLE_SECONDS + 1)
    cache.read(path)
    cache.read(path)
    with OfflineStore.open(path) as store:  # another process writes
        store.create("account", {"name": "Northwind"})
        store.set_meta(summary.STOPPED_KEY, "Dynamics 365 did not answer")
    changed = cache.read(path)
    assert changed is not None
    assert (changed.queued, changed.pending, changed.stopped) == (2, 2, "Dynamics 365 did not answer")


def test_a_store_written_just_now_is_read_again(made: Path, opens: list[Path]) -> None:
    """Within a tick of the file system's clock two writes may leave the same time: a fresh store is not
    cached."""
    path = made
    cache = SummaryCache()
    cache.read(path)
    cache.read(path)
    assert len(opens) == 2


def test_no_store_no_summary(tmp_path: Path, opens: list[Path]) -> None:
    assert SummaryCache().read(store_path(tmp_path, ORG)) is None
    assert opens == []
