"""Offline benchmark: go offline, search locally, refresh with no changes, go online with 1,000 queued changes.

The issue's figures (issue 14): going offline with 10,000 contacts, 5,000 accounts, 2,000 leads, 5,000
appointments and 5,000 tasks costs per table the table definitions, ⌈rows/5,000⌉ pages of the filter's ids and
⌈rows/5,000⌉ pages of the change-tracked read (its last page carries the change token); the client process
stays under 300 MB peak RSS; a local search over 10,000 contacts takes under 50 ms; a refresh with nothing
changed is one request per table; 1,000 queued offline edits go online in at most 2 ``$batch`` requests.

The product's own modules run here (``wizard.offline.download`` / ``refresh`` / ``replay`` and the
``OfflineStore``) against the Dataverse stand-in in a ``spawn``ed child process, so the ``ru_maxrss`` of this
process is the client's alone. Requests are counted on the client's HTTP session (full URL, so each one is
put in its class) and cross-checked with the server's own count.

    python -m bench.bench_offline                     # the issue's sizes
    python -m bench.bench_offline --contacts 500 ...  # smaller
    python -m bench.bench_offline --write             # ... and update the Offline section of docs/PERFORMANCE.md

Exit status 1 when a bound is broken (or a step handled the wrong number of rows).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import requests

from bench import bench_dataverse
from bench.bench_dataverse import BENCH_UPN, OTHER_UPN, Standin, connect
from bench.common import PERFORMANCE_MD, machine_description, markdown_table, today, update_section
from wizard.crm.client import DataverseClient
from wizard.crm.entities import QUERYTYPE_OFFLINE, UserQuery
from wizard.crm.filters import create_filter
from wizard.offline import download, refresh, replay, scope
from wizard.offline.store import OfflineStore
from wizard.offline.tables import TABLES

SECTION = "Offline"
PAGE = 5000  # rows per page (FetchXML and OData): the service's maximum
METADATA_PER_TABLE = 1  # wizard.crm.metadata.read_table: one RetrieveEntity per table (issue 14: ≤ 1)
MEMORY_BOUND_MB = 300
SEARCH_BOUND_MS = 50.0
QUEUED = 1000
BATCH_BOUND = 2
#: entity set -> how the bench names its rows (the search looks for these words)
NAMES = {
    "contacts": "Contact",
    "accounts": "Account",
    "leads": "Lead",
    "appointments": "Meeting",
    "tasks": "Call",
}


@dataclass(frozen=True)
class Sizes:
    contacts: int = 10_000
    accounts: int = 5_000
    leads: int = 2_000
    appointments: int = 5_000
    tasks: int = 5_000

    def of(self, entity_set: str) -> int:
        return int(getattr(self, entity_set))

    @property
    def total(self) -> int:
        return sum(asdict(self).values())


def pages(rows: int, page_size: int = PAGE) -> int:
    """Requests a paged read of ``rows`` needs (a nextLink only while rows remain; an empty table: one)."""
    return max(1, math.ceil(rows / page_size))


# --------------------------------------------------------------------------- seed data


def seed_rows(entity_set: str, count: int, me: str) -> Iterator[dict[str, Any]]:
    """``count`` rows of one table, all owned by the bench user (the filters select every one)."""
    word = NAMES[entity_set]
    for i in range(count):
        row: dict[str, Any] = {"_ownerid_value": me}
        if entity_set in ("contacts", "leads"):
            row.update(
                firstname="Bench",
                lastname=f"{word} {i:06d}",
                emailaddress1=f"bench.{word.lower()}{i:06d}@example.org",
                telephone1=f"+49 30 {i:06d}",
            )
            if entity_set == "leads":
                row.update(subject=f"Lead {i}", companyname=f"Prospect {i % 97}")
        elif entity_set == "accounts":
            row.update(name=f"Bench {word} {i:06d}", telephone1=f"+49 40 {i:06d}")
        else:
            row.update(subject=f"Bench {word} {i:06d}")
            if entity_set == "appointments":
                day = 1 + i % 28
                row.update(
                    scheduledstart=f"2026-12-{day:02d}T09:00:00Z", scheduledend=f"2026-12-{day:02d}T10:00:00Z"
                )
        yield row


def filter_fetchxml(logical_name: str, primary_id: str) -> str:
    """An offline filter selecting the rows the user owns (every seeded row)."""
    return (
        f'<fetch version="1.0" mapping="logical"><entity name="{logical_name}">'
        f'<attribute name="{primary_id}"/><filter type="and">'
        '<condition attribute="ownerid" operator="eq-userid"/></filter></entity></fetch>'
    )


# --------------------------------------------------------------------------- the stand-in


def _start_environment(folder: Path, sizes: Sizes) -> tuple[Any, dict[str, str], float]:
    from wizard.sandbox.dataverse.server import DataverseEnvironment
    from wizard.sandbox.directory import demo_directory
    from wizard.sandbox.tls import make_tls
    from wizard.sandbox.tokens import TokenSigner

    directory = demo_directory()
    signer = TokenSigner()
    tls = make_tls(folder)
    org = directory.orgs[0]
    env = DataverseEnvironment(
        directory, org, signer=signer, tls=tls, authority_url="https://127.0.0.1:9/adfs", demo_data=False
    ).start()
    me = directory.user(BENCH_UPN)
    assert me is not None and directory.user(OTHER_UPN) is not None
    user_id = me.systemuserid(org)
    started = time.perf_counter()
    for spec in TABLES:
        env.store.bulk_create(
            spec.entity_set, seed_rows(spec.entity_set, sizes.of(spec.entity_set), user_id), user_id=user_id
        )
    seed_seconds = time.perf_counter() - started
    token = signer.issue(oid=me.oid, upn=me.upn, tenant_id=directory.tenant_id, audience=env.url)
    return (
        env,
        {"url": env.url, "ca_file": str(tls.ca_file), "token": token, "user_id": user_id},
        seed_seconds,
    )


def standin_in_process(sizes: Sizes) -> AbstractContextManager[tuple[Standin, float]]:
    """The stand-in on threads of this process (the smoke test: fast; RSS then includes the server)."""
    return bench_dataverse.standin_in_process(sizes, start=_start_environment, prefix="bench-offline-")


def standin_in_subprocess(sizes: Sizes) -> AbstractContextManager[tuple[Standin, float]]:
    """The stand-in in a child process, so this process's peak RSS is the client's alone."""
    return bench_dataverse.standin_in_subprocess(
        sizes, start=_start_environment, prefix="bench-offline-", start_timeout=600
    )


# --------------------------------------------------------------------------- request classes


@dataclass
class Requests:
    """The requests of one step, by class: (class, table) -> count; ``total`` is the client's count."""

    by_class: Counter[tuple[str, str]] = field(default_factory=Counter)
    total: int = 0
    server: int = 0

    def of(self, kind: str, entity_set: str = "") -> int:
        return sum(
            n for (k, t), n in self.by_class.items() if k == kind and (not entity_set or t == entity_set)
        )


def classify(method: str, url: str) -> tuple[str, str]:
    """What a request was for: ``metadata``, ``filter`` (FetchXML ids), ``rows`` (a page of a table read or a
    change read), ``batch`` or ``setup`` (WhoAmI, filters, user settings), and the entity set it concerns."""
    path, _, query = url.partition("?")
    tail = path.split("/api/data/", 1)[-1].split("/", 1)[-1]
    if tail.startswith("RetrieveEntity("):
        logical = parse_qs(query).get("@p2", [""])[0]  # the table's name is the alias' value: 'contact'
        name = logical.strip("'")
        spec = next((s for s in TABLES if s.logical_name == name), None)
        return "metadata", spec.entity_set if spec else name
    if tail.startswith("EntityDefinitions"):
        name = tail.split("'")[1] if "'" in tail else ""
        spec = next((s for s in TABLES if s.logical_name == name), None)
        return "metadata", spec.entity_set if spec else name
    if tail == "$batch":
        return "batch", ""
    entity_set = tail.split("(", 1)[0]
    if entity_set in NAMES:
        if "fetchXml=" in query:
            return "filter", entity_set
        if method == "GET":
            return "rows", entity_set
    return "setup", entity_set


class Recorder:
    """Counts every request the client's HTTP session sends (after retries), with its class."""

    def __init__(self, session: requests.Session) -> None:
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        original = session.send

        def send(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            with self._lock:
                self.calls.append(classify(str(request.method), str(request.url)))
            return original(request, **kwargs)

        session.send = send  # type: ignore[method-assign]

    @contextmanager
    def step(self, standin: Standin) -> Iterator[Requests]:
        out = Requests()
        with self._lock:
            self.calls.clear()
        standin.server_reset()
        try:
            yield out
        finally:
            with self._lock:
                out.by_class = Counter(self.calls)
                out.total = len(self.calls)
            out.server = standin.server_count()


# --------------------------------------------------------------------------- the run


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (Linux: ``ru_maxrss`` in KiB; macOS: bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@dataclass
class Figures:
    """Everything one run measured (plain data: the smoke test and ``--write`` read it)."""

    sizes: Sizes
    seed_seconds: float = 0.0
    offline_seconds: float = 0.0
    offline: dict[str, dict[str, int]] = field(default_factory=dict)  # entity set -> class -> requests
    offline_setup: int = 0
    offline_total: int = 0
    offline_server: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # rows stored per logical name
    rss_before_mib: float = 0.0
    rss_peak_mib: float = 0.0
    search_ms: list[float] = field(default_factory=list)
    search_hits: int = 0
    refresh_requests: dict[str, int] = field(default_factory=dict)
    refresh_total: int = 0
    refresh_server: int = 0
    refresh_seconds: float = 0.0
    queued: int = 0
    online_batches: int = 0
    online_total: int = 0
    online_server: int = 0
    online_updated: int = 0
    online_seconds: float = 0.0
    again_metadata: int = -1  # go offline again within a day: metadata requests (-1: not run)

    def problems(self) -> list[str]:
        found = []
        for spec in TABLES:
            rows = self.sizes.of(spec.entity_set)
            got = self.offline.get(spec.entity_set, {})
            if got.get("metadata", 0) > METADATA_PER_TABLE:
                found.append(f"go offline, {spec.entity_set}: {got.get('metadata')} metadata requests")
            if got.get("filter", 0) > pages(rows) or got.get("rows", 0) > pages(rows):
                found.append(f"go offline, {spec.entity_set}: {got} over ⌈{rows}/{PAGE}⌉ pages per read")
            if self.counts.get(spec.logical_name) != rows:
                found.append(
                    f"go offline, {spec.entity_set}: {self.counts.get(spec.logical_name)} of {rows} rows"
                )
        if self.offline_total != self.offline_server:
            found.append(f"go offline: client sent {self.offline_total}, server saw {self.offline_server}")
        if self.rss_peak_mib > MEMORY_BOUND_MB:
            found.append(f"peak RSS {self.rss_peak_mib:.0f} MiB over {MEMORY_BOUND_MB} MB")
        if self.search_ms and max(self.search_ms) > SEARCH_BOUND_MS:
            found.append(f"local search took {max(self.search_ms):.1f} ms (bound {SEARCH_BOUND_MS:.0f} ms)")
        if self.sizes.contacts and self.search_hits == 0:
            found.append("local search found nothing")
        if self.refresh_total != len(TABLES) or any(n != 1 for n in self.refresh_requests.values()):
            found.append(f"no-change refresh: {self.refresh_requests} (bound: exactly 1 per table)")
        if self.queued:
            if self.online_batches > BATCH_BOUND or self.online_total > BATCH_BOUND:
                found.append(f"go online: {self.online_total} requests, {self.online_batches} $batch")
            if self.online_updated != self.queued:
                found.append(f"go online: {self.online_updated} of {self.queued} queued edits sent")
        if self.again_metadata > 0:
            found.append(
                f"go offline again: {self.again_metadata} metadata requests (definitions < 1 day old)"
            )
        return found


def make_filters(client: DataverseClient, sizes: Sizes) -> list[UserQuery]:
    """One active offline filter per table with rows (the user's rows), made before the defaults would be."""
    for spec in TABLES:
        if sizes.of(spec.entity_set):
            create_filter(
                client,
                f"Bench offline {spec.entity_set}",
                spec.logical_name,
                filter_fetchxml(spec.logical_name, spec.primary_id),
                QUERYTYPE_OFFLINE,
            )
    return scope.ensure_offline_filters(client)


SEARCHES = ("Contact 000042", "bench.contact004711", "+49 30 009", "Contact 0099", "bench", "nobody here")


def run(standin: Standin, sizes: Sizes, *, queued: int = QUEUED, again: bool = True) -> Figures:
    """Go offline, search, refresh, queue ``queued`` edits and go online, then (``again``) go offline again."""
    figures = Figures(sizes)
    client, _counter = connect(standin)
    recorder = Recorder(client.session.http)
    folder = Path(tempfile.mkdtemp(prefix="bench-offline-store-"))
    path = folder / "offline.sqlite3"
    try:
        client.whoami()  # warm-up: TLS handshake and connection pool, not measured
        filters = make_filters(client, sizes)
        figures.rss_before_mib = peak_rss_mib()

        with recorder.step(standin) as made:
            started = time.perf_counter()
            result = download.go_offline(client, path, filters, user_id=standin.user_id, page_size=PAGE)
            figures.offline_seconds = time.perf_counter() - started
        figures.counts = dict(result.counts)
        for spec in TABLES:
            figures.offline[spec.entity_set] = {
                kind: made.of(kind, spec.entity_set) for kind in ("metadata", "filter", "rows")
            }
        figures.offline_setup = made.of("setup")
        figures.offline_total, figures.offline_server = made.total, made.server

        with OfflineStore.open(path) as store:
            for text in SEARCHES:
                timings = []
                for _ in range(5):
                    started = time.perf_counter()
                    found = store.search("contacts", text)
                    timings.append((time.perf_counter() - started) * 1000)
                figures.search_ms.append(statistics.median(timings))
                figures.search_hits += len(found)

            with recorder.step(standin) as quiet:
                started = time.perf_counter()
                refresh.refresh(client, store, filters)
                figures.refresh_seconds = time.perf_counter() - started
            figures.refresh_requests = {spec.entity_set: quiet.of("rows", spec.entity_set) for spec in TABLES}
            figures.refresh_total, figures.refresh_server = quiet.total, quiet.server

            ids = sorted(store.ids("contact"))[:queued]
            for n, row_id in enumerate(ids):
                store.update("contact", row_id, {"jobtitle": f"Offline edit {n}"})
            figures.queued = len(ids)
            with recorder.step(standin) as online:
                started = time.perf_counter()
                sent = replay.go_online(client, store)
                figures.online_seconds = time.perf_counter() - started
            figures.online_batches, figures.online_total = online.of("batch"), online.total
            figures.online_server, figures.online_updated = online.server, sent.updated

        if again:
            with recorder.step(standin) as second:
                download.go_offline(client, path, filters, user_id=standin.user_id, page_size=PAGE)
            figures.again_metadata = second.of("metadata")
        figures.rss_peak_mib = peak_rss_mib()
        return figures
    finally:
        client.session.close()
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- output


def _split(figures: Figures) -> str:
    kinds = {k: sum(t.get(k, 0) for t in figures.offline.values()) for k in ("metadata", "filter", "rows")}
    text = f"{kinds['metadata']} metadata, {kinds['filter']} filter pages, {kinds['rows']} row pages"
    return text + (f", {figures.offline_setup} other" if figures.offline_setup else "")


def render(figures: Figures, *, load: str = "") -> str:
    """The Offline section of docs/PERFORMANCE.md."""
    sizes = figures.sizes
    rows = []
    for spec in TABLES:
        n = sizes.of(spec.entity_set)
        got = figures.offline.get(spec.entity_set, {})
        rows.append(
            [
                spec.entity_set,
                f"{n:,}",
                got.get("metadata", 0),
                f"{got.get('filter', 0)} (⌈n/5,000⌉ = {pages(n)})",
                f"{got.get('rows', 0)} (⌈n/5,000⌉ = {pages(n)})",
                figures.refresh_requests.get(spec.entity_set, 0),
            ]
        )
    table = markdown_table(
        ["table", "rows", "metadata", "filter ids", "rows + change token", "no-change refresh"], rows
    )
    search = ", ".join(f"{ms:.1f}" for ms in figures.search_ms)
    command = (
        f"python -m bench.bench_offline --contacts {sizes.contacts} --accounts {sizes.accounts} "
        f"--leads {sizes.leads} --appointments {sizes.appointments} --tasks {sizes.tasks} --write"
    )
    return f"""## Offline

Measured on {today()}: {machine_description()}{f"; load average {load}" if load else ""}.
Command: `{command}`.

Setup: the Dataverse stand-in (no demo data) in a child process, seeded through its store with
{sizes.total:,} rows ({figures.seed_seconds:.1f} s), one active offline filter per table selecting the
user's rows (all of them); the client is the product's `DataverseClient` with `wizard.offline.download`,
`refresh` and `replay` and the `OfflineStore`, in this process, so its peak RSS is the client's.

| step | requests | time | bound |
|---|---|---|---|
| go offline, {sizes.total:,} rows | {figures.offline_total} ({_split(figures)}) | {figures.offline_seconds:,.1f} s | per table 1 metadata (`RetrieveEntity`) + ⌈n/5,000⌉ filter pages + ⌈n/5,000⌉ pages of the tracked read |
| local search over {sizes.contacts:,} contacts (FTS5, median of 5, {len(figures.search_ms)} queries) | 0 | {search} ms | < {SEARCH_BOUND_MS:.0f} ms each |
| refresh, nothing changed | {figures.refresh_total} | {figures.refresh_seconds * 1000:,.0f} ms | exactly 1 per table |
| go online, {figures.queued:,} queued edits | {figures.online_total} ({figures.online_batches} `$batch`) | {figures.online_seconds:,.1f} s | ≤ {BATCH_BOUND} `$batch` |
| go offline again within a day | metadata: {figures.again_metadata} | | 0 metadata (taken over from the previous store) |

Peak RSS of the client process: **{figures.rss_peak_mib:,.0f} MiB** ({figures.rss_before_mib:,.0f} MiB before going
offline: interpreter, `requests`, the product's modules); bound {MEMORY_BOUND_MB} MB.

Requests per table while going offline:

{table}

Notes:
- **Table definitions cost 1 request per table**: `wizard.crm.metadata.read_table` asks the `RetrieveEntity`
  function, whose answer carries every column as its derived type (maximum lengths, choices with their
  options); an organization without the function is read with the attribute casts (6 requests). Going offline
  again within a day reads none (the definitions are taken over from the previous store).
- Each table is read twice over: the filters' FetchXML gives the ids in scope, then the change-tracked read
  streams the rows (and its last page the change token); only the ids are held in memory, never a table.
- Timings are for a loopback stand-in written in Python on a shared, loaded machine: informative only; the
  request counts carry over to a real environment.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    defaults = Sizes()
    for name in ("contacts", "accounts", "leads", "appointments", "tasks"):
        parser.add_argument(
            f"--{name}",
            type=int,
            default=getattr(defaults, name),
            help=f"{name} to seed (default %(default)s)",
        )
    parser.add_argument("--queued", type=int, default=QUEUED, help="offline edits to send (default 1000)")
    parser.add_argument(
        "--in-process", action="store_true", help="run the stand-in on threads of this process"
    )
    parser.add_argument(
        "--write", action="store_true", help="update the Offline section of docs/PERFORMANCE.md"
    )
    parser.add_argument("--output", type=Path, default=PERFORMANCE_MD, help="the document --write updates")
    args = parser.parse_args(argv)
    sizes = Sizes(args.contacts, args.accounts, args.leads, args.appointments, args.tasks)
    if min(asdict(sizes).values()) < 0 or args.queued < 0:
        parser.error("sizes must not be negative")
    if args.queued > sizes.contacts:
        parser.error("--queued cannot exceed --contacts (the edits go to contacts)")
    start = standin_in_process if args.in_process else standin_in_subprocess
    with start(sizes) as (standin, seed_seconds):
        figures = run(standin, sizes, queued=args.queued)
    figures.seed_seconds = seed_seconds
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    text = render(figures, load=load)
    print(text)
    problems = figures.problems()
    for problem in problems:
        print("BOUND BROKEN:", problem, file=sys.stderr)
    if args.write:
        if problems:
            print("not writing figures with broken bounds", file=sys.stderr)
        elif args.in_process:
            print("not writing in-process figures (RSS would include the server)", file=sys.stderr)
            return 1
        else:
            update_section(args.output, SECTION, text)
            print(f"updated the {SECTION} section of {args.output}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
