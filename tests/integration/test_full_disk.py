"""A full disk loses nothing (issue 11, item 6), on a real full file system: the profile lives on a small tmpfs
(CI runs as root; skipped with the reason where mounting is not permitted), filled to the last byte.

Runs on the full disk stop with "the disk holding … is full; nothing was changed", set no state DB aside and
change no record on either side (not even the claim's heartbeat on the user's mailbox record); once space is freed, the next run carries out the deletions the user made
meanwhile and brings nothing back.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.simulation.engine_harness import KINDS, Rig, configure, mailbox_items
from tests.support.cli import run_cli
from wizard.crm import records
from wizard.mailbox.base import FolderKind
from wizard.sandbox import Sandbox
from wizard.sync.state import StateDBError

pytestmark = pytest.mark.skipif(os.name != "posix", reason="tmpfs is a Linux file system")

SIZE = "6m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", str(disk)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc}); the full-disk test needs root (CI runs as root)")
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here ({done.stderr.strip()}); CI runs as root")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=30, check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full to the last byte; its path (delete it to free the space)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (65536, 4096, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return filler


def names(rig: Rig, kind: str) -> set[str]:
    key = "lastname" if kind == "contacts" else "subject"
    return {str(r[key]) for r in rig.client.query(kind, select=[key])}


def mailbox_names(rig: Rig, kind: str) -> set[str]:
    return {(i.surname if kind == "contacts" else i.subject) for i in mailbox_items(rig, kind)}


@pytest.fixture
def rig(
    small_disk: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rig]:
    monkeypatch.setenv("D365SYNC_HOME", str(small_disk / "home"))
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as sandbox:
        made = configure(sandbox)
        try:
            yield made
        finally:
            made.close()


def test_a_full_disk_changes_nothing_and_undoes_no_deletion(rig: Rig, small_disk: Path) -> None:
    client, store = rig.client, rig.store
    for last in ("Keep", "Gone"):
        client.create(
            "contacts",
            {"firstname": "Full", "lastname": last, "ownerid@odata.bind": f"/systemusers({rig.user_id})"},
        )
    for subject in ("Keep task", "Gone task"):
        client.create("tasks", {"subject": subject, "ownerid@odata.bind": f"/systemusers({rig.user_id})"})
    first = rig.run()
    assert first.status == "ok", first
    assert mailbox_names(rig, "contacts") >= {"Keep", "Gone"}
    assert mailbox_names(rig, "tasks") >= {"Keep task", "Gone task"}

    # the user deletes a contact and a task in the mailbox; then the disk fills up
    for kind, folder, name in (
        ("contacts", FolderKind.CONTACTS, "Gone"),
        ("tasks", FolderKind.TASKS, "Gone task"),
    ):
        item = next(
            i for i in mailbox_items(rig, kind) if (i.surname if kind == "contacts" else i.subject) == name
        )
        assert store.delete_many(folder, [item.id])[0].ok
    crm_before = {k: names(rig, k) for k in ("contacts", "tasks")}
    mailbox_before = {k: mailbox_names(rig, k) for k in ("contacts", "tasks")}
    state_dir = rig.factory.where.state_db.parent
    claim_row = records.own_mailbox(client).etag  # the claim's heartbeat would change it
    opened = rig.engine()  # a sync under way when the disk fills: its state DB is open already
    filler = fill(small_disk)
    with opened, pytest.raises(StateDBError) as stopped:
        opened.run_once(
            KINDS
        )  # the run's first state write fails before anything is sent, heartbeat included
    assert "is full; nothing was changed" in stopped.value.user_text, stopped.value.user_text
    assert records.own_mailbox(client).etag == claim_row

    for _attempt in range(3):  # every further command on the full disk: the same, nothing set aside
        with pytest.raises(StateDBError) as info:
            rig.run()
        assert "is full; nothing was changed" in info.value.user_text, info.value.user_text
        assert str(state_dir) in info.value.user_text
    cli = run_cli(Path(os.environ["D365SYNC_HOME"]), "sync", "--once")
    assert cli.returncode != 0 and "is full; nothing was changed" in cli.stderr, cli.stderr
    assert not list(state_dir.glob("*.corrupt-*"))
    assert {k: names(rig, k) for k in ("contacts", "tasks")} == crm_before
    assert {k: mailbox_names(rig, k) for k in ("contacts", "tasks")} == mailbox_before
    assert (
        records.own_mailbox(client).etag == claim_row
    )  # not even the heartbeat: the state write comes first

    filler.unlink()  # space freed
    after = rig.run()
    assert after.status == "ok", after
    assert "Gone" in names(rig, "contacts")  # a contact deleted in the mailbox stays in Dynamics 365 ...
    assert "Gone" not in mailbox_names(rig, "contacts")  # ... and out of the mailbox
    assert "Gone task" not in names(rig, "tasks") | mailbox_names(rig, "tasks")  # deleted on both sides
    assert {"Keep"} <= mailbox_names(rig, "contacts") and {"Keep task"} <= mailbox_names(rig, "tasks")
    again = rig.run()
    assert again.status == "ok" and "Gone" not in mailbox_names(rig, "contacts")
