"""Benchmark of the EWS backend against the loopback EWS stand-in.

    python -m bench.bench_ews            # print the table
    python -m bench.bench_ews --write    # also update the "EWS backend" section of docs/PERFORMANCE.md

Measures what the sync engine pays: requests per 1,000 contacts created, read and updated (batches of
100 a request), the first full change read, a change read with nothing changed (must be 1 request per
folder), items per second, and peak Python memory (tracemalloc, in a separate pass so timing is not
distorted). Request counts come from the stand-in's own counter (``server.request_count``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.common import PERFORMANCE_MD, machine_description, today, update_section
from wizard.mailbox.base import ContactItem, FolderKind, PhysicalAddress
from wizard.mailbox.ews import EwsAuth, EwsSettings, EwsStore
from wizard.sandbox.directory import demo_directory
from wizard.sandbox.ews import EwsStandIn
from wizard.sandbox.tls import make_tls

N = 1000
ANNA = "anna.schmidt@contoso.com"
ANNA_PASSWORD = "Sandbox-Anna-2026"
DOC = PERFORMANCE_MD
CREATE_LIMIT = 12


@dataclass
class Row:
    what: str
    requests: int
    seconds: float
    items: int
    peak_mib: float | None = None

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else float("inf")


def contacts(n: int) -> list[ContactItem]:
    return [
        ContactItem(
            id="",
            given_name=f"Kontakt{i:04d}",
            surname="Müller",
            display_name=f"Kontakt{i:04d} Müller",
            company="Contoso GmbH",
            emails=[f"k{i:04d}@contoso.example"],
            phones={"business": f"+49 89 {i:04d}"},
            business_address=PhysicalAddress(street="Hauptstr. 1", city="München", postal_code="80331"),
        )
        for i in range(n)
    ]


def run(memory: bool = True) -> tuple[list[Row], dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        tls = make_tls(Path(tmp) / "ca")
        standin = EwsStandIn(demo_directory(), tls=tls).start()
        try:
            return _measure(standin, str(tls.ca_file), memory)
        finally:
            standin.stop()


def _measure(standin: EwsStandIn, ca_file: str, memory: bool) -> tuple[list[Row], dict[str, int]]:
    settings = EwsSettings(
        address=ANNA, ews_url=standin.url, auth=EwsAuth.BASIC, ca_file=ca_file, timezone="Europe/Berlin"
    )
    server = standin.server
    rows: list[Row] = []

    def timed(what: str, items: int, action: Callable[[], object]) -> object:
        server.reset_counts()
        started = time.perf_counter()
        result = action()
        rows.append(Row(what, server.request_count, time.perf_counter() - started, items))
        return result

    with EwsStore(settings, password=ANNA_PASSWORD) as store:
        created = timed(
            f"create {N} contacts (new store: version probe + CreateItem)",
            N,
            lambda: store.create_many(FolderKind.CONTACTS, contacts(N)),
        )
        ids = [r.id for r in created if r.ok]  # type: ignore[attr-defined]
        assert len(ids) == N, "not every contact was created"
        first = timed(
            f"first change read, {N} contacts (page 512)",
            N,
            lambda: list(store.changes(FolderKind.CONTACTS, None, page_size=512)),
        )
        cursor = first[-1].cursor  # type: ignore[index]
        read = timed(f"get {N} contacts", N, lambda: store.get_many(FolderKind.CONTACTS, ids))
        items = [r.value for r in read]  # type: ignore[attr-defined]
        for item in items:
            item.job_title = "Einkauf"
        timed(f"update {N} contacts", N, lambda: store.update_many(FolderKind.CONTACTS, items))
        quiet: dict[str, int] = {}
        cursors = {kind: _cursor(store, kind) for kind in FolderKind}
        cursors[FolderKind.CONTACTS] = _cursor(store, FolderKind.CONTACTS, cursor)
        for kind in FolderKind:
            server.reset_counts()
            batches = list(store.changes(kind, cursors[kind]))
            assert all(b.is_empty for b in batches), kind
            quiet[kind.value] = server.request_count
        rows.append(Row("change read, nothing changed (6 folders)", sum(quiet.values()), 0.0, 0))

    if memory:
        with EwsStore(settings, password=ANNA_PASSWORD) as store:
            batch = contacts(N)
            tracemalloc.start()
            server.reset_counts()
            started = time.perf_counter()
            store.create_many(FolderKind.CONTACTS, batch)
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rows.append(
                Row(f"create {N} contacts under tracemalloc", server.request_count, elapsed, N, peak / 2**20)
            )
    return rows, quiet


def _cursor(store: EwsStore, kind: FolderKind, cursor: str | None = None) -> str:
    last = ""
    for batch in store.changes(kind, cursor, page_size=512):
        last = batch.cursor
    return last


def table(rows: list[Row], quiet: dict[str, int]) -> str:
    lines = [
        "| measurement | requests | seconds | items/s | peak MiB |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        rate = "" if row.items == 0 else f"{row.per_second:,.0f}"
        seconds = "" if row.items == 0 else f"{row.seconds:.2f}"
        peak = "" if row.peak_mib is None else f"{row.peak_mib:.1f}"
        lines.append(f"| {row.what} | {row.requests} | {seconds} | {rate} | {peak} |")
    lines.append("")
    lines.append(
        "Requests of a change read with nothing changed, per folder: "
        + ", ".join(f"{k} {v}" for k, v in quiet.items())
    )
    return "\n".join(lines)


def section(rows: list[Row], quiet: dict[str, int]) -> str:
    return "\n".join(
        [
            "## EWS backend",
            "",
            f"Measured on {today()}: {machine_description()}.",
            "Command: `python -m bench.bench_ews --write`.",
            "",
            "Setup: the EWS stand-in (`wizard/sandbox/ews`, HTTPS on 127.0.0.1, SQLite in memory) on threads of",
            "the benchmark process; the client is the product's `EwsStore` (exchangelib 5.6, Basic auth, batches of",
            "100 items a request). Requests are the stand-in's own count (`server.request_count`). The figures show",
            "the client's request pattern and CPU cost, not a real Exchange server's latency. The peak MiB comes",
            "from a second, traced pass and includes the in-process stand-in's allocations (an upper bound for",
            "the client).",
            "",
            table(rows, quiet),
            "",
            f"Bounds (asserted by the script, exit 1 when broken): creating {N} contacts from a fresh store takes",
            f"at most {CREATE_LIMIT} requests (1 version probe + ⌈N/100⌉ CreateItem); a change read with nothing",
            "changed costs exactly 1 SyncFolderItems request per folder (well-known folders are addressed by",
            "DistinguishedFolderId, so no GetFolder round trips).",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true", help="update the EWS section of docs/PERFORMANCE.md")
    args = parser.parse_args(argv)
    rows, quiet = run()
    print(f"Machine: {machine_description()}")
    print(table(rows, quiet))
    failures = []
    if rows[0].requests > CREATE_LIMIT:
        failures.append(f"creating {N} contacts took {rows[0].requests} requests (limit {CREATE_LIMIT})")
    if any(count != 1 for count in quiet.values()):
        failures.append(f"a quiet change read cost more than 1 request per folder: {quiet}")
    if args.write:
        update_section(DOC, "EWS", section(rows, quiet))
        print(f"updated {DOC}")
    for failure in failures:
        print("FAIL:", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
