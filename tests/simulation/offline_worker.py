"""One go-online in its own process, for the offline fault simulation: the test SIGKILLs it mid-replay.

The profile is the one in ``$D365SYNC_HOME`` (the test's, signed in against the sandbox running in the test
process). Retry waits are recorded, not slept (429 ``Retry-After`` and 503 back-off cost no wall time), as in
``tests/simulation/engine_harness.fast``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> int:
    from tests.simulation.offline_harness import fast_dataverse
    from wizard.app import offline
    from wizard.app.factory import Factory
    from wizard.paths import locations

    fast_dataverse(Factory)
    print("ready", flush=True)
    result = offline.go_online(Factory(locations().ensure()))
    print(
        f"done: sent {result.replay.sent}, held {result.replay.held}, failed {result.replay.failed}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
