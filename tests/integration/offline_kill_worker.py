"""Go online in its own process, killed (SIGKILL) at a chosen point: the replay kill tests.

The profile is the one in ``$D365SYNC_HOME``. ``D365SYNC_SIM_KILL=batch:N`` kills right after the N-th ``$batch``
answer arrived (the service applied it, the store has not recorded it); ``sent:N`` right after the N-th change
was recorded as sent; ``none`` runs to the end (the test kills it at a random moment instead).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def _kill_after(owner: Any, name: str, count: int) -> None:
    original = getattr(owner, name)
    seen = [0]

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        seen[0] += 1
        if seen[0] == count:
            print(f"killed after {name} {count}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, name, wrapped)


def main() -> int:
    from wizard.app import offline
    from wizard.app.factory import Factory
    from wizard.crm.client import DataverseClient
    from wizard.offline.store import OfflineStore
    from wizard.paths import locations

    point, _, number = os.environ.get("D365SYNC_SIM_KILL", "none").partition(":")
    if point == "batch":
        _kill_after(DataverseClient, "batch", int(number))
    elif point == "sent":
        _kill_after(OfflineStore, "sent", int(number))
    print("ready", flush=True)
    result = offline.go_online(Factory(locations().ensure()))
    print(f"done {result.replay.sent}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
