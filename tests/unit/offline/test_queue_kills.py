"""Offline edits survive ``kill -9`` at any moment: the queue is journaled in the row change's transaction.

A worker process edits the store in a loop and is SIGKILLed at a random moment (seeded); afterwards every row
must be exactly its merge base with its queued changes applied in order: no edit without its queue entry,
no queue entry without its edit.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from wizard.offline.store import OfflineStore

WORKER = Path(__file__).with_name("queue_worker.py")
ANNA = "11111111-1111-1111-1111-111111111111"


def _replayed(store: OfflineStore) -> dict[str, tuple[dict[str, Any], bool]]:
    """Every row rebuilt from its base and the queue: id -> (local fields, deleted)."""
    out: dict[str, tuple[dict[str, Any], bool]] = {}
    for row_id in store.ids("contact"):
        row = store.row("contact", row_id)
        assert row is not None
        if row.base is not None:
            out[row_id] = (dict(row.base), False)
    for change in store.queue():
        if change.op == "create":
            assert change.id not in out, "a create of a row that existed"
            local = {name: None for name in store.row("contact", change.id).local}  # type: ignore[union-attr]
            local.update(change.fields)
            out[change.id] = (local, False)
        elif change.op == "update":
            local, deleted = out[change.id]
            assert not deleted
            out[change.id] = ({**local, **change.fields}, False)
        else:
            out[change.id] = (out[change.id][0], True)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_a_killed_editor_leaves_rows_and_queue_consistent(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "offline.sqlite3"
    with OfflineStore.open(path) as store:
        store.put_server_rows("contact", [{"contactid": ANNA, "lastname": "Bär", "@odata.etag": 'W/"1"'}])
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), str(path), str(seed)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    time.sleep(random.Random(seed).uniform(0.05, 0.6))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with OfflineStore.open(path) as store:
        queue = store.queue()
        assert queue, "the worker made no edit before the kill"
        rebuilt = _replayed(store)
        assert set(rebuilt) == store.ids("contact")
        for row_id, (local, deleted) in rebuilt.items():
            row = store.row("contact", row_id)
            assert row is not None
            kept = {k: v for k, v in row.local.items() if k != "fullname"}  # made from first and last name
            assert (kept, row.deleted) == ({k: v for k, v in local.items() if k != "fullname"}, deleted), (
                row_id
            )
