"""Shared helpers for the benchmark scripts.

Why a module of its own: every backend benchmark needs the same four things — count the HTTP
requests a client really sends, time a block, measure the peak Python memory of the client side,
and publish the figures into docs/PERFORMANCE.md without clobbering the other backends' sections.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
PERFORMANCE_MD = REPO_ROOT / "docs" / "PERFORMANCE.md"

PERFORMANCE_INTRO = """# Performance

Measured figures and the request-count bounds the product must keep. Each section is written by a
benchmark script under `bench/` (`python -m bench.<script> --write`); the text between a section's
`<!-- bench:... -->` markers is regenerated in place, so edit the scripts, not the numbers.
The bounds are asserted by the scripts (non-zero exit when broken) and by
`tests/integration/test_bench_smoke.py` at small sizes in CI; the timings are informative only.
"""


# --------------------------------------------------------------------------- docs/PERFORMANCE.md


def _markers(title: str) -> tuple[str, str]:
    return f"<!-- bench:{title} -->", f"<!-- /bench:{title} -->"


def update_section(path: str | os.PathLike[str], title: str, markdown: str) -> None:
    """Replace the block between ``<!-- bench:<title> -->`` and ``<!-- /bench:<title> -->``.

    The markers stay; everything between them becomes ``markdown``. A missing section is appended at
    the end of the file; a missing file is created with the standard intro first. Other sections
    and hand-written text outside the markers are left byte-for-byte alone, so several benchmark
    scripts can share one document.
    """
    target = Path(path)
    begin, end = _markers(title)
    block = f"{begin}\n{markdown.strip()}\n{end}"
    text = target.read_text(encoding="utf-8") if target.exists() else PERFORMANCE_INTRO
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        # A function replacement: backslashes in the markdown must not be read as group references.
        new_text = pattern.sub(lambda _m: block, text, count=1)
    else:
        new_text = text.rstrip("\n") + "\n\n" + block + "\n"
    if not new_text.endswith("\n"):
        new_text += "\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(new_text, encoding="utf-8")
    os.replace(tmp, target)


def restore_environ(saved: dict[str, str | None]) -> None:
    """Put environment variables back as ``saved`` had them (None: it was not set)."""
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# --------------------------------------------------------------------------- request counting


@dataclass
class RequestCounter:
    """Counts the requests that a ``requests.Session`` really sends (after retries, per attempt)."""

    count: int = 0
    methods: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reset(self) -> None:
        with self._lock:
            self.count = 0
            self.methods.clear()

    def _record(self, method: str, url: str) -> None:
        with self._lock:
            self.count += 1
            self.methods.append(f"{method} {url.split('?', 1)[0]}")


def count_requests(session: requests.Session) -> RequestCounter:
    """Wrap ``session.send`` so every outgoing request is counted; returns the live counter.

    Hooking ``send`` (not ``request``) counts what reaches the wire, including redirects and
    retries the session makes on its own.
    """
    counter = RequestCounter()
    original = session.send

    def counting_send(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        counter._record(str(request.method), str(request.url))
        return original(request, **kwargs)

    session.send = counting_send  # type: ignore[method-assign]
    return counter


# --------------------------------------------------------------------------- timing and memory


@dataclass
class Measurement:
    """Wall time and peak traced memory of one measured block."""

    seconds: float = 0.0
    peak_bytes: int = 0

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / (1024 * 1024)

    def rate(self, items: int) -> float:
        """Items per second (0 when the block took no measurable time)."""
        return items / self.seconds if self.seconds > 0 else 0.0


@contextmanager
def measure(trace_memory: bool = True) -> Iterator[Measurement]:
    """Time the block and, when ``trace_memory``, record the tracemalloc peak it reached.

    tracemalloc sees every thread of this process, so run stand-in servers in a separate process
    when the peak must be the client's alone (the Dataverse benchmark does).
    """
    result = Measurement()
    started_tracing = False
    if trace_memory:
        if not tracemalloc.is_tracing():
            tracemalloc.start()
            started_tracing = True
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - start
        if trace_memory:
            peak = tracemalloc.get_traced_memory()[1]
            result.peak_bytes = max(0, peak - baseline)
            if started_tracing:
                tracemalloc.stop()


# --------------------------------------------------------------------------- output


def machine_description() -> str:
    """One line naming what the figures were measured on."""
    cores = os.cpu_count() or 0
    return (
        f"{cores} logical cores, {platform.processor() or platform.machine()}, "
        f"{platform.system()} {platform.release()}, Python {sys.version.split()[0]}"
    )


def today() -> str:
    return _dt.date.today().isoformat()


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table (also readable as plain text on a terminal)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    out = [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(line(r) for r in cells[1:])
    return "\n".join(out)


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def fmt_mib(peak_bytes: int) -> str:
    return f"{peak_bytes / (1024 * 1024):.1f}"
