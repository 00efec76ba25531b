"""Go online killed at any point and run again: no duplicate, no lost change (issue 14).

A worker process replays the queue and is SIGKILLed right after the service applied a ``$batch`` (before the
store recorded it), after some of the changes were recorded as sent, or at a random moment while the service
is slow; then the replay runs again here. Dynamics 365 must end with every offline change exactly once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from wizard.app import offline
from wizard.app.factory import Factory
from wizard.sandbox import Sandbox

WORKER = Path(__file__).with_name("offline_kill_worker.py")


def _offline_edits(factory: Factory) -> dict[str, Any]:
    client = factory.dataverse(factory.require_sync_org())
    ids = [client.create("contacts", {"firstname": "C", "lastname": f"Seed{n}"}) for n in range(4)]
    offline.go_offline(factory)
    for n, row_id in enumerate(ids[:3]):
        offline.update_record(factory, "contacts", row_id, {"jobtitle": f"Job{n}"})
    offline.delete_record(factory, "contacts", ids[3])
    account = offline.create_record(factory, "accounts", {"name": "Once Ltd"})
    offline.create_record(factory, "contacts", {"lastname": "New", "parentcustomerid": f"account:{account}"})
    offline.create_record(factory, "accounts", {"name": "Twice Ltd"})
    return {"ids": ids, "account": account, "client": client}


def _run_worker(home: Path, point: str, kill_after: float | None = None) -> str:
    env = {**os.environ, "D365SYNC_HOME": str(home), "D365SYNC_SIM_KILL": point}
    proc = subprocess.Popen(
        [sys.executable, str(WORKER)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    if kill_after is not None:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate(timeout=120)
    return out


@pytest.mark.parametrize("point", ["batch:1", "sent:1", "sent:3", "random:1", "random:2"])
def test_a_killed_replay_run_again_loses_nothing_and_creates_nothing_twice(
    signed_in_factory: Factory, isolated_home: Path, sandbox: Sandbox, point: str
) -> None:
    made = _offline_edits(signed_in_factory)
    client = made["client"]
    if point.startswith("random"):
        sandbox.environments[0].server.faults.latency(0.5, path_contains="$batch")
        delay = random.Random(int(point.split(":")[1])).uniform(0.1, 1.5)
        _run_worker(isolated_home, "none", kill_after=delay)
        sandbox.environments[0].server.faults.clear()
    else:
        out = _run_worker(isolated_home, point)
        assert f"killed after {point.split(':')[0]}" in out, out

    again = offline.go_online(signed_in_factory)
    assert again.replay.failed == [] and again.replay.held == 0
    assert offline.offline_status(signed_in_factory).queued == 0
    names = Counter(str(r["name"]) for r in client.query("accounts", select=["name"]))
    assert names == Counter({"Once Ltd": 1, "Twice Ltd": 1})
    contacts = {
        str(r["lastname"]): r
        for r in client.query("contacts", select=["lastname", "jobtitle", "_parentcustomerid_value"])
    }
    assert [contacts[f"Seed{n}"]["jobtitle"] for n in range(3)] == ["Job0", "Job1", "Job2"]
    assert "Seed3" not in contacts
    assert contacts["New"]["_parentcustomerid_value"] == made["account"]
