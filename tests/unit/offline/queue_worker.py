"""Offline edits in a loop, in their own process: the kill test SIGKILLs it at a random moment.

``python queue_worker.py STORE SEED``: creates, updates and deletes contacts in the store as fast as it can.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))


def main() -> int:
    from wizard.offline.store import OfflineStore

    path, seed = Path(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    with OfflineStore.open(path) as store:
        ids: list[str] = [r.id for r in store.rows("contact", limit=10_000)]
        print("ready", flush=True)
        for n in range(100_000):
            action = rng.random()
            if action < 0.2 or not ids:
                ids.append(store.create("contact", {"lastname": f"L{n}", "jobtitle": f"J{n}"}))
            elif action < 0.9:
                store.update("contact", rng.choice(ids), {rng.choice(("jobtitle", "telephone1")): f"V{n}"})
            else:
                store.delete("contact", ids.pop(rng.randrange(len(ids))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
