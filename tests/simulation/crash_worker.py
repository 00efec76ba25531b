"""One engine run in its own process, for the crash tests: the test kills it (SIGKILL) mid-run.

The profile is the one in ``$D365SYNC_HOME`` (inherited from the test, which configured it against the sandbox
running in the test process); the keyring backend is the test one (``PYTHON_KEYRING_BACKEND``).

``D365SYNC_SIM_KILL_TOMBSTONES=N[:renamed]``: the worker kills itself (SIGKILL) at the N-th write of the state
DB's tombstones file, with the temporary file written and before it replaces the old one (``:renamed``: just
after it replaced it); a local write, so no stand-in request marks the point.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def kill_at_tombstones(spec: str) -> None:
    """Arm the kill point in the tombstones write path (wizard.sync.statefile.before_replace)."""
    import wizard.sync.statefile as statefile

    number, _, how = spec.partition(":")
    kill_at, seen = int(number), [0]

    def before_replace(scratch: Path, target: Path) -> None:
        seen[0] += 1
        if seen[0] == kill_at:
            if how == "renamed":
                os.replace(scratch, target)
            print(f"killed at tombstones write {kill_at} ({how or 'before the rename'})", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    statefile.before_replace = before_replace


def main() -> int:
    from tests.simulation.engine_harness import KINDS, fast
    from wizard.app.factory import Factory
    from wizard.paths import locations

    spec = os.environ.get("D365SYNC_SIM_KILL_TOMBSTONES")
    if spec:
        kill_at_tombstones(spec)
    factory = Factory(locations().ensure())
    with factory.engine() as engine:
        fast(engine)
        summary = engine.run_once(KINDS)
    print(summary.status, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
