"""Kills in the state DB's tombstones write path (issue 11, item 6): the engine process (``crash_worker.py``) is
SIGKILLed at the N-th write of ``<state db>.tombstones``, before or just after the rename, while it carries
out contacts the user deleted in the mailbox (each deletion is a tombstone: Dynamics 365 keeps the contact,
the mailbox must not get it back). Then, in the harshest variant, the state DB itself is lost (a corrupt file,
set aside at the next start with no healthy open in between). Two clean runs later: no deletion the DB had
recorded is undone (with the DB intact: none at all), no duplicate, every remaining pair linked. A deletion the
lost DB had not recorded yet (the kill came first) may come back: nothing remembered it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.simulation.engine_harness import TIMEOUT, WORKER, Rig, configure, mailbox_items
from wizard.mailbox.base import FolderKind
from wizard.sandbox import Sandbox

KEEP, GONE = ("Kept1", "Kept2"), ("Gone1", "Gone2", "Gone3")


@pytest.fixture
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as sandbox:
        made = configure(sandbox)
        try:
            yield made
        finally:
            made.close()


def _crm_names(rig: Rig) -> Counter[str]:
    return Counter(str(r["lastname"]) for r in rig.client.query("contacts", select=["lastname"]))


def _mailbox_names(rig: Rig) -> Counter[str]:
    return Counter(str(i.surname) for i in mailbox_items(rig, "contacts"))


def kill_in_tombstones(rig: Rig, spec: str, tmp: Path) -> bool:
    """One engine run in the worker, killed at the tombstones write ``spec`` (see crash_worker.py); True if
    the kill point was reached (False: the run made fewer writes and finished)."""
    log = tmp / f"worker-tombstones-{spec.replace(':', '-')}.log"
    env = {**os.environ, "D365SYNC_SIM_KILL_TOMBSTONES": spec}
    with log.open("w") as out:
        proc = subprocess.run(
            [sys.executable, str(WORKER)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=TIMEOUT,
            check=False,
        )
    text = log.read_text()
    if proc.returncode == 0:
        return False
    assert proc.returncode == -9 and "killed at tombstones write" in text, text
    return True


def _scenario(rig: Rig, tmp: Path, spec: str, *, lose_db: bool) -> None:
    owner = {"ownerid@odata.bind": f"/systemusers({rig.user_id})"}
    for name in (*KEEP, *GONE):
        rig.client.create("contacts", {"firstname": "Tomb", "lastname": name, **owner})
    assert rig.run().status == "ok"
    items = {str(i.surname): i for i in mailbox_items(rig, "contacts")}
    assert set(items) == {*KEEP, *GONE}
    for name in GONE:  # the user deletes them in the mailbox: Dynamics 365 keeps them (DESIGN section 4)
        assert rig.store.delete_many(FolderKind.CONTACTS, [items[name].id])[0].ok

    killed = kill_in_tombstones(rig, spec, tmp)
    state_db = rig.factory.where.state_db
    raw = sqlite3.connect(state_db)  # what the killed run had committed (read without healing anything)
    linked = {str(row[0]) for row in raw.execute("SELECT crm_id FROM links WHERE kind = 'contacts'")}
    raw.close()
    ids = {
        str(r["lastname"]): str(r["contactid"])
        for r in rig.client.query("contacts", select=["contactid", "lastname"])
    }
    recorded = {name for name in GONE if ids[name] not in linked}
    print(f"{spec}: {'killed' if killed else 'finished first'}; deletions recorded: {sorted(recorded)}")
    if lose_db:
        state_db.write_bytes(b"lost to a disk fault" * 500)
        for suffix in ("-wal", "-shm"):
            state_db.with_name(state_db.name + suffix).unlink(missing_ok=True)
    for _ in range(2):
        summary = rig.run()
        assert summary.status == "ok", summary
    if lose_db:
        assert list(state_db.parent.glob(f"{state_db.name}.corrupt-*"))
    crm, mailbox = _crm_names(rig), _mailbox_names(rig)
    assert crm == Counter({*KEEP, *GONE}), crm  # nothing deleted in Dynamics 365, nothing twice
    print(f"{spec}: mailbox after: {sorted(mailbox)}")
    assert max(mailbox.values()) == 1, mailbox  # no duplicate
    if lose_db:  # no recorded deletion undone
        assert set(KEEP) <= set(mailbox) <= set(KEEP) | (set(GONE) - recorded), (mailbox, recorded)
    else:
        assert mailbox == Counter(KEEP), mailbox  # no deletion undone
    with rig.state() as state:
        assert len(state.links("contacts")) == len(mailbox)  # type: ignore[arg-type]
    assert not list(state_db.parent.glob("*.tombstones.tmp-*"))


@pytest.mark.parametrize(
    ("spec", "lose_db"),
    [("1", True), ("2:renamed", True), ("1:renamed", False)],
)
def test_a_kill_in_the_tombstones_write_loses_no_deletion(
    rig: Rig, tmp_path: Path, spec: str, lose_db: bool
) -> None:
    _scenario(rig, tmp_path, spec, lose_db=lose_db)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("spec", "lose_db"),
    [(f"{n}{how}", lose) for n in (1, 2, 3, 4) for how in ("", ":renamed") for lose in (False, True)],
)
def test_every_kill_point_in_the_tombstones_write(rig: Rig, tmp_path: Path, spec: str, lose_db: bool) -> None:
    _scenario(rig, tmp_path, spec, lose_db=lose_db)
