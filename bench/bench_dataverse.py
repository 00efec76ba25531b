"""Dataverse benchmark: the product's real client against the Dataverse stand-in.

Holds the request-count bounds of the issue "Reading 10,000 contacts from the stand-in: at most 3 requests; a
delta read with no changes: 1 request; creating 1,000 records: at most 2 requests", and records items per
second and the client's peak Python memory.

The stand-in runs in a child process (``spawn``) so that tracemalloc's peak is the client's alone; the
requests are counted on the client's own ``requests.Session`` (what really went over the wire, retries
included) and cross-checked against the server's request log. Timings are measured in a pass without
tracemalloc (it slows Python code down); the peak memory comes from a second, traced pass of the same read.

    python -m bench.bench_dataverse            # 10,000 contacts, page size 5,000, 1,000 creates
    python -m bench.bench_dataverse --write    # ... and update the Dataverse section of docs/PERFORMANCE.md

Exit status 1 when a bound is broken (or a read returned the wrong number of rows).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import multiprocessing.connection
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    PERFORMANCE_MD,
    RequestCounter,
    count_requests,
    fmt_mib,
    fmt_rate,
    machine_description,
    markdown_table,
    measure,
    today,
    update_section,
)
from wizard.crm.auth import StaticTokenProvider
from wizard.crm.client import DataverseClient
from wizard.crm.filters import DEFAULT_OUTLOOK_FILTERS
from wizard.odata import BatchRequest, FailFast, ODataSession

SECTION = "Dataverse"
MAX_BATCH = 1000  # requests per $batch (Dataverse's documented limit; wizard.odata.batch splits at it)
BENCH_UPN = "anna.schmidt@contoso.com"
OTHER_UPN = "joerg.baer@contoso.com"
FILTER_NAME = "My Outlook Contacts"
FILTER_FETCHXML = next(f.fetchxml for f in DEFAULT_OUTLOOK_FILTERS if f.name == FILTER_NAME)


# --------------------------------------------------------------------------- bounds (the issue's numbers)


def pages(rows: int, page_size: int) -> int:
    """Requests a paged read needs when the server sends a nextLink only while more rows remain."""
    return max(1, math.ceil(rows / page_size))


def page_bound(rows: int, page_size: int) -> int:
    """The promised upper bound: one request per full page plus one (10,000 rows / 5,000 -> 3)."""
    return rows // page_size + 1


def batch_requests(creates: int) -> int:
    """Requests a ``$batch`` of ``creates`` needs when split at 1,000 requests per batch."""
    return max(1, math.ceil(creates / MAX_BATCH))


def batch_bound(creates: int) -> int:
    """The promised upper bound for creates through ``$batch`` (1,000 creates -> 2)."""
    return creates // MAX_BATCH + 1


# --------------------------------------------------------------------------- seed data


def seed_rows(count: int, me: str, other: str) -> Iterator[dict[str, Any]]:
    """Contacts with a known shape: even ones are mine, odd ones another user's; every tenth of mine
    (index % 10 == 8) is inactive. "My Outlook Contacts" (active, owned by me) therefore matches
    :func:`filter_matches` rows."""
    for i in range(count):
        owner = me if i % 2 == 0 else other
        row: dict[str, Any] = {
            "firstname": "Bench",
            "lastname": f"Contact {i:06d}",
            "emailaddress1": f"bench.contact{i:06d}@example.org",
            "_ownerid_value": owner,
        }
        if i % 10 == 8:
            row.update({"statecode": 1, "statuscode": 2})
        yield row


def filter_matches(count: int) -> int:
    """How many of :func:`seed_rows` the default contact filter (mine and active) selects."""
    return sum(1 for i in range(count) if i % 2 == 0 and i % 10 != 8)


# --------------------------------------------------------------------------- the stand-in


@dataclass(frozen=True)
class Standin:
    """What a client needs to reach a running stand-in, and the server's own request counter."""

    url: str
    ca_file: str
    token: str
    user_id: str
    server_count: Callable[[], int]
    server_reset: Callable[[], None]


def _start_environment(folder: Path, contacts: int) -> tuple[Any, dict[str, str], float]:
    """Start a demo-data-free environment and seed ``contacts`` rows through its store."""
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
    other = directory.user(OTHER_UPN)
    assert me is not None and other is not None
    started = time.perf_counter()
    env.store.bulk_create(
        "contacts",
        seed_rows(contacts, me.systemuserid(org), other.systemuserid(org)),
        user_id=me.systemuserid(org),
    )
    seed_seconds = time.perf_counter() - started
    token = signer.issue(oid=me.oid, upn=me.upn, tenant_id=directory.tenant_id, audience=env.url)
    info = {"url": env.url, "ca_file": str(tls.ca_file), "token": token, "user_id": me.systemuserid(org)}
    return env, info, seed_seconds


#: how a benchmark's stand-in starts in ``folder`` with its sizes: (environment, connection info, seed seconds)
StartEnvironment = Callable[[Path, Any], tuple[Any, dict[str, str], float]]


@contextmanager
def standin_in_process(
    sizes: Any, *, start: StartEnvironment = _start_environment, prefix: str = "bench-dataverse-"
) -> Iterator[tuple[Standin, float]]:
    """The stand-in on threads of this process (tests: fast, but memory figures include the server)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    env, info, seed_seconds = start(folder, sizes)
    try:
        yield (
            Standin(
                info["url"],
                info["ca_file"],
                info["token"],
                info["user_id"],
                lambda: int(env.server.request_count),
                env.server.reset_counts,
            ),
            seed_seconds,
        )
    finally:
        env.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _serve(
    conn: multiprocessing.connection.Connection, sizes: Any, start: StartEnvironment, prefix: str
) -> None:
    """Child process: run the stand-in and answer "count" / "reset" / "stop" from the parent."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    env = None
    try:
        env, info, seed_seconds = start(folder, sizes)
        conn.send({**info, "seed_seconds": seed_seconds})
        while True:
            command = conn.recv()
            if command == "count":
                conn.send(int(env.server.request_count))
            elif command == "reset":
                env.server.reset_counts()
                conn.send(True)
            else:
                break
    except EOFError:
        pass
    finally:
        if env is not None:
            env.stop()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def standin_in_subprocess(
    sizes: Any,
    *,
    start: StartEnvironment = _start_environment,
    prefix: str = "bench-dataverse-",
    start_timeout: float = 300,
) -> Iterator[tuple[Standin, float]]:
    """The stand-in in a child process, so the parent's peak memory is the client's alone. ``start`` must be a
    module-level function (the ``spawn`` child imports it by name)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(child, sizes, start, prefix), daemon=True)
    process.start()
    lock = threading.Lock()  # one question and its answer at a time, whichever thread asks
    try:
        if not parent.poll(start_timeout):
            raise RuntimeError(f"the Dataverse stand-in did not start within {start_timeout:.0f} s")
        info = parent.recv()

        def ask(command: str) -> Any:
            with lock:
                parent.send(command)
                return parent.recv()

        yield (
            Standin(
                info["url"],
                info["ca_file"],
                info["token"],
                info["user_id"],
                lambda: int(ask("count")),
                lambda: ask("reset"),
            ),
            float(info["seed_seconds"]),
        )
    finally:
        with suppress(BrokenPipeError, OSError):
            parent.send("stop")
        process.join(30)
        if process.is_alive():
            process.terminate()
            process.join(5)


def connect(standin: Standin) -> tuple[DataverseClient, RequestCounter]:
    """The product's real client (ODataSession + DataverseClient), with a request counter on its session.

    FailFast: a retry would hide a fault from the figures, so any transient failure is an error here.
    """
    session = ODataSession(
        standin.url + "/api/data/v9.2/",
        auth=StaticTokenProvider(standin.token),
        verify=standin.ca_file,
        retry_policy=FailFast(),
    )
    return DataverseClient(session), count_requests(session.http)


# --------------------------------------------------------------------------- measurements


@dataclass
class Result:
    """One measured operation: items handled, requests sent against the bound, time and client memory."""

    name: str
    items: int
    expected_items: int
    requests: int
    expected_requests: int  # what the formula predicts for this stand-in
    bound: int  # what the product promises
    server_requests: int
    seconds: float
    peak_bytes: int | None = None
    exact: bool = False  # the bound is an equality (delta with no changes)

    @property
    def ok(self) -> bool:
        within = self.requests == self.bound if self.exact else self.requests <= self.bound
        return within and self.items == self.expected_items and self.server_requests == self.requests

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0

    def problems(self) -> list[str]:
        found = []
        relation = "==" if self.exact else "<="
        if not (self.requests == self.bound if self.exact else self.requests <= self.bound):
            found.append(f"{self.name}: {self.requests} requests, bound is {relation} {self.bound}")
        if self.items != self.expected_items:
            found.append(f"{self.name}: {self.items} items, expected {self.expected_items}")
        if self.server_requests != self.requests:
            found.append(
                f"{self.name}: client sent {self.requests} requests, server saw {self.server_requests}"
            )
        return found


def _timed(
    name: str,
    standin: Standin,
    counter: RequestCounter,
    run: Callable[[], int],
    *,
    expected_items: int,
    expected_requests: int,
    bound: int,
    exact: bool = False,
    trace: Callable[[], int] | None = None,
    repeat: int = 1,
) -> Result:
    """Run ``run`` ``repeat`` times untraced (median time; the most requests any run needed), then
    ``trace`` (if given) once under tracemalloc (peak)."""
    durations: list[float] = []
    worst: tuple[int, int, int] | None = None  # (client requests, server requests, items) of the worst run
    for _ in range(max(1, repeat)):
        counter.reset()
        standin.server_reset()
        with measure(trace_memory=False) as timing:
            items = run()
        durations.append(timing.seconds)
        outcome = (counter.count, standin.server_count(), items)
        if worst is None or outcome[0] > worst[0] or outcome[2] != expected_items:
            worst = outcome
    assert worst is not None
    result = Result(
        name,
        worst[2],
        expected_items,
        worst[0],
        expected_requests,
        bound,
        worst[1],
        statistics.median(durations),
        exact=exact,
    )
    if trace is not None:
        with measure(trace_memory=True) as traced:
            trace()
        result.peak_bytes = traced.peak_bytes
    return result


def bench_round_trips(
    client: DataverseClient, counter: RequestCounter, standin: Standin, calls: int = 20, *, repeat: int = 1
) -> Result:
    """``calls`` WhoAmI requests in a row: the stand-in's per-request latency, the floor under every figure."""

    def run() -> int:
        for _ in range(calls):
            client.whoami(refresh=True)
        return calls

    return _timed(
        f"WhoAmI round trips ({calls})",
        standin,
        counter,
        run,
        expected_items=calls,
        expected_requests=calls,
        bound=calls,
        exact=True,
        repeat=repeat,
    )


def bench_full_read(
    client: DataverseClient,
    counter: RequestCounter,
    standin: Standin,
    contacts: int,
    page_size: int,
    *,
    memory: bool = True,
    repeat: int = 1,
) -> Result:
    """All contacts via ``client.query`` with ``odata.maxpagesize``; rows are counted, not kept."""

    def run() -> int:
        seen = 0
        for _row in client.query("contacts", select=["fullname", "emailaddress1"], page_size=page_size):
            seen += 1
        return seen

    return _timed(
        f"full read ({page_size}/page)",
        standin,
        counter,
        run,
        expected_items=contacts,
        expected_requests=pages(contacts, page_size),
        bound=page_bound(contacts, page_size),
        trace=run if memory else None,
        repeat=repeat,
    )


def bench_fetch_filter(
    client: DataverseClient,
    counter: RequestCounter,
    standin: Standin,
    contacts: int,
    page_size: int,
    *,
    memory: bool = True,
    repeat: int = 1,
) -> Result:
    """The default "My Outlook Contacts" sync filter's FetchXML, paged by ``count`` + paging cookie."""
    matches = filter_matches(contacts)

    def run() -> int:
        seen = 0
        for _row in client.fetch("contacts", FILTER_FETCHXML, page_size=page_size):
            seen += 1
        return seen

    return _timed(
        f"fetchXml filter ({page_size}/page)",
        standin,
        counter,
        run,
        expected_items=matches,
        expected_requests=pages(matches, page_size),
        bound=page_bound(matches, page_size),
        trace=run if memory else None,
        repeat=repeat,
    )


def bench_change_tracking(
    client: DataverseClient,
    counter: RequestCounter,
    standin: Standin,
    contacts: int,
    page_size: int,
    *,
    memory: bool = True,
    repeat: int = 1,
) -> tuple[Result, Result]:
    """Initial change-tracking read (all rows + deltaLink), then a delta read with no changes (1 request)."""
    tokens: list[str] = []

    def initial() -> int:
        changes = client.read_changes("contacts", ["fullname", "emailaddress1"], None, page_size=page_size)
        tokens.append(changes.next_token)
        return len(changes.rows)

    first = _timed(
        f"change tracking, initial ({page_size}/page)",
        standin,
        counter,
        initial,
        expected_items=contacts,
        expected_requests=pages(contacts, page_size),
        bound=page_bound(contacts, page_size),
        trace=initial if memory else None,
        repeat=repeat,
    )

    def delta() -> int:
        changes = client.read_changes(
            "contacts", ["fullname", "emailaddress1"], tokens[-1], page_size=page_size
        )
        return len(changes.rows) + len(changes.deleted_ids)

    quiet = _timed(
        "delta read, no changes",
        standin,
        counter,
        delta,
        expected_items=0,
        expected_requests=1,
        bound=1,
        exact=True,
        trace=delta if memory else None,
        repeat=repeat,
    )
    return first, quiet


def bench_batch_create(
    client: DataverseClient,
    counter: RequestCounter,
    standin: Standin,
    creates: int,
    *,
    memory: bool = True,
    repeat: int = 1,
) -> Result:
    """``creates`` new contacts through ``client.batch`` (split at 1,000 requests per ``$batch``)."""
    runs = [0]

    def run() -> int:
        runs[0] += 1
        items = [
            BatchRequest("POST", "contacts", {"firstname": "Batch", "lastname": f"Run {runs[0]} #{i:05d}"})
            for i in range(creates)
        ]
        results = client.batch(items)
        return sum(1 for r in results if r.ok and r.entity_id)

    return _timed(
        f"$batch create ({creates})",
        standin,
        counter,
        run,
        expected_items=creates,
        expected_requests=batch_requests(creates),
        bound=batch_bound(creates),
        trace=run if memory else None,
        repeat=repeat,
    )


def run_all(
    standin: Standin,
    *,
    contacts: int,
    page_size: int,
    creates: int,
    memory: bool = True,
    repeat: int = 1,
) -> list[Result]:
    """Every measurement, in an order where the writes (creates) come last."""
    client, counter = connect(standin)
    try:
        client.whoami()  # warm-up: TLS handshake and connection pool, not measured
        results = [bench_round_trips(client, counter, standin, repeat=repeat)]
        results.append(
            bench_full_read(client, counter, standin, contacts, page_size, memory=memory, repeat=repeat)
        )
        results.append(
            bench_fetch_filter(client, counter, standin, contacts, page_size, memory=memory, repeat=repeat)
        )
        results.extend(
            bench_change_tracking(client, counter, standin, contacts, page_size, memory=memory, repeat=repeat)
        )
        results.append(bench_batch_create(client, counter, standin, creates, memory=memory, repeat=repeat))
        return results
    finally:
        client.session.close()


# --------------------------------------------------------------------------- output


def table(results: Sequence[Result]) -> str:
    rows = []
    for r in results:
        relation = "=" if r.exact else "≤"
        rows.append(
            [
                r.name,
                f"{r.items:,}",
                r.requests,
                f"{relation} {r.bound}",
                "ok" if r.ok else "BROKEN",
                fmt_rate(r.rate) if r.items else "–",
                f"{r.seconds * 1000:,.0f}",
                fmt_mib(r.peak_bytes) if r.peak_bytes is not None else "–",
            ]
        )
    return markdown_table(
        ["operation", "items", "requests", "bound", "check", "items/s", "ms", "client peak MiB"], rows
    )


def section_markdown(
    results: Sequence[Result], *, contacts: int, page_size: int, creates: int, seed_seconds: float
) -> str:
    trips = next((r for r in results if r.name.startswith("WhoAmI")), None)
    round_trip_ms = trips.seconds * 1000 / trips.items if trips and trips.items else 0.0
    return f"""## Dataverse

Measured on {today()}: {machine_description()}.
Command: `python -m bench.bench_dataverse --contacts {contacts} --page-size {page_size} --creates {creates} --write`.

Setup: the Dataverse stand-in (`wizard/sandbox/dataverse`, HTTPS on 127.0.0.1, no demo data) in a child
process, seeded with {contacts:,} contacts through `store.bulk_create` ({seed_seconds:.1f} s); the client is the
product's own `ODataSession` + `DataverseClient` with a static bearer token and no retries. Requests are
counted on the client's HTTP session and must equal the server's count. "items/s" is from an untraced pass;
"client peak MiB" is the tracemalloc peak of a second, traced pass (the server is in another process, so
it is the client's alone). The filter is the default "{FILTER_NAME}" FetchXML (active contacts I own:
{filter_matches(contacts):,} of the {contacts:,}).

{table(results)}

Bounds (asserted by the script, exit 1 when broken, and by `tests/integration/test_bench_smoke.py` at
600 contacts / 250 per page in CI):

| what | bound | formula |
|---|---|---|
| read N rows, page size P (OData `odata.maxpagesize`, FetchXML `count`) | at most ⌊N/P⌋ + 1 (10,000 / 5,000 → 3) | the stand-in needs ⌈N/P⌉: a nextLink / `morerecords` only while rows remain |
| delta read with no changes | exactly 1 | the stored deltaLink, one GET, empty `value`, same deltaLink |
| create N records through `$batch` | at most ⌊N/1000⌋ + 1 (1,000 → 2) | ⌈N/1000⌉: one `$batch` per 1,000 requests |

Notes:
- "WhoAmI round trips" is the stand-in's latency floor: {round_trip_ms:.1f} ms per request here. Around 40 ms
  means the stand-in's HTTP server writes headers and body in two sends with Nagle's algorithm on, which
  meets the client's delayed ACK (`disable_nagle_algorithm = True` on `SandboxHandler` removes it); the delta
  read and every page of the reads carry this floor.
- The plain and FetchXML reads stream one page at a time (the peak is about one page of JSON); the initial
  change-tracking read keeps all rows (`ChangeSet.rows` is a list by design), so its peak grows with the
  table (30,000 contacts: about 2.5 times the plain read's peak). The `$batch` peak is the multipart request
  and response of 1,000 operations.
- Timings are for a loopback stand-in written in Python and say nothing about Dataverse's own latency or
  service protection limits; the request counts are what carries over to a real environment.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--contacts", type=int, default=10_000, help="contacts to seed (default 10000)")
    parser.add_argument("--page-size", type=int, default=5_000, help="rows per page (default 5000, max 5000)")
    parser.add_argument(
        "--creates", type=int, default=1_000, help="records to create via $batch (default 1000)"
    )
    parser.add_argument(
        "--in-process", action="store_true", help="run the stand-in on threads of this process"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per operation; the median is shown")
    parser.add_argument("--no-memory", action="store_true", help="skip the traced passes (peak memory)")
    parser.add_argument(
        "--write", action="store_true", help="update the Dataverse section of docs/PERFORMANCE.md"
    )
    parser.add_argument("--output", type=Path, default=PERFORMANCE_MD, help="the document --write updates")
    args = parser.parse_args(argv)
    if not 0 < args.page_size <= 5000:
        parser.error("--page-size must be between 1 and 5000 (the service's maximum)")

    start = standin_in_process if args.in_process else standin_in_subprocess
    with start(args.contacts) as (standin, seed_seconds):
        results = run_all(
            standin,
            contacts=args.contacts,
            page_size=args.page_size,
            creates=args.creates,
            memory=not args.no_memory,
            repeat=args.repeat,
        )
    print(
        f"Dataverse stand-in, {args.contacts:,} contacts seeded in {seed_seconds:.1f} s; {machine_description()}"
    )
    print(table(results))
    problems = [p for r in results for p in r.problems()]
    for problem in problems:
        print("BOUND BROKEN:", problem, file=sys.stderr)
    if args.write:
        if problems:
            print("not writing figures with broken bounds", file=sys.stderr)
        elif args.in_process:
            print("not writing in-process figures (memory would include the server)", file=sys.stderr)
            return 1
        else:
            update_section(
                args.output,
                SECTION,
                section_markdown(
                    results,
                    contacts=args.contacts,
                    page_size=args.page_size,
                    creates=args.creates,
                    seed_seconds=seed_seconds,
                ),
            )
            print(f"updated the {SECTION} section of {args.output}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
