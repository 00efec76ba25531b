"""``d365sync demo`` and ``d365sync sandbox`` as processes: stopped by a signal, the demo leaves no temporary
folder behind (issue 12 item 8), every folder it makes is private (0700), and ``sandbox`` prints every address,
the on-premises one included (item 16)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

PREFIXES = ("d365sync-demo-", "d365sync-sandbox-", "d365sync-ntlm-")


def _start(tmp_path: Path, *args: str, **env_extra: str) -> tuple[subprocess.Popen[str], Path]:
    scratch = tmp_path / "tmp"  # the process's temporary folders go here (TMPDIR), so they can be counted
    scratch.mkdir()
    env = dict(os.environ, D365SYNC_HOME=str(tmp_path / "home"), TMPDIR=str(scratch), **env_extra)
    env.pop("CI_INTERACTIVE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    return proc, scratch


def _ours(scratch: Path) -> list[Path]:
    return sorted(p for p in scratch.iterdir() if p.name.startswith(PREFIXES))


def _wait_for_folders(proc: subprocess.Popen[str], scratch: Path, timeout: float = 90) -> list[Path]:
    deadline = time.monotonic() + timeout
    while True:
        found = _ours(scratch)
        if {p.name.split("-")[1] for p in found} >= {"demo", "sandbox", "ntlm"}:
            return found
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the demo ended early ({proc.returncode}): {err}")
        assert time.monotonic() < deadline, f"folders so far: {found}"
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[str], signum: int) -> str:
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the demo did not stop on the signal")
    return err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_windowed_demo_removes_its_folders_on_a_signal(tmp_path: Path, signum: int) -> None:
    proc, scratch = _start(tmp_path, "demo", QT_QPA_PLATFORM="offscreen")
    try:
        folders = _wait_for_folders(proc, scratch)
        for folder in folders:
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        time.sleep(3)  # the window is up: the signal arrives inside Qt's event loop
    finally:
        err = _stop(proc, signum)
    assert "Traceback" not in err, err
    assert _ours(scratch) == []


def test_the_headless_demo_removes_its_folders_on_sigterm(tmp_path: Path) -> None:
    proc, scratch = _start(tmp_path, "demo", "--headless")
    try:
        folders = _wait_for_folders(proc, scratch)
        for folder in folders:
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    finally:
        err = _stop(proc, signal.SIGTERM)
    assert "Traceback" not in err, err
    assert _ours(scratch) == []


def test_sandbox_prints_the_on_premises_address(tmp_path: Path) -> None:
    proc, _ = _start(tmp_path, "sandbox", "--empty")
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while not any(line.startswith("On premises:") for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            lines.append(proc.stdout.readline())
    finally:
        _stop(proc, signal.SIGINT)
    (onprem,) = [line for line in lines if line.strip().startswith("On-premises")]
    assert "Contoso On-Premises" in onprem and "/contosoonprem" in onprem and "https://127.0.0.1:" in onprem
    (command,) = [line for line in lines if line.startswith("On premises:")]
    assert "--auth ntlm" in command and "'CONTOSO\\anna.schmidt'" in command
