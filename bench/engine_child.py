"""``d365sync`` in a child process that reports its own peak memory: ``python -m bench.engine_child OUT -- ARGS``.

Runs ``wizard.cli.main(ARGS)`` and then writes ``{"exit": code, "peak_mib": ..., "cpu_seconds": ...}`` to the file
OUT. The peak is this process's own high-water mark: on Linux ``VmHWM`` from ``/proc/self/status``, which belongs
to the address space made at ``exec``. (``ru_maxrss`` of a child as ``wait4`` reports it is not: Linux carries
the parent's high-water mark across ``fork``/``vfork`` + ``exec``, so a large parent shows through.)
Elsewhere ``ru_maxrss``.
"""

from __future__ import annotations

import json
import resource
import sys
from collections.abc import Sequence


def peak_mib() -> float:
    """The peak resident set size of this process in MiB."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: Sequence[str]) -> int:
    out, separator, *args = argv
    if separator != "--":
        raise SystemExit("usage: python -m bench.engine_child OUT -- d365sync-arguments")
    if not args:  # the baseline: the engine's modules imported, nothing run
        import wizard.app.factory
        import wizard.crm.client
        import wizard.mailbox.ews
        import wizard.sync.engine  # noqa: F401

        code = 0
    else:
        from wizard.cli import main as d365sync

        code = d365sync(args)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(
            {"exit": code, "peak_mib": peak_mib(), "cpu_seconds": usage.ru_utime + usage.ru_stime}, handle
        )
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
