"""Run the real ``d365sync`` command line in a subprocess with its own D365SYNC_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(home: Path, *args: str, stdin: str = "", timeout: float = 120) -> CliResult:
    env = dict(os.environ)
    env["D365SYNC_HOME"] = str(home)
    env.pop("CI_INTERACTIVE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
