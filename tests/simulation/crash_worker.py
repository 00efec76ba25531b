"""One engine run in its own process, for the crash tests: the test kills it (SIGKILL) mid-run.

The profile is the one in ``$D365SYNC_HOME`` (inherited from the test, which configured it against the sandbox
running in the test process); the keyring backend is the test one (``PYTHON_KEYRING_BACKEND``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> int:
    from tests.simulation.engine_harness import KINDS, fast
    from wizard.app.factory import Factory
    from wizard.paths import locations

    factory = Factory(locations().ensure())
    with factory.engine() as engine:
        fast(engine)
        summary = engine.run_once(KINDS)
    print(summary.status, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
