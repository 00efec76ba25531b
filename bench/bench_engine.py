"""Benchmark of the sync engine end to end against the stand-ins (Dataverse Web API + EWS).

    python -m bench.bench_engine                    # 2,000 contacts, 1,000 appointments, 1,000 tasks, 2,000 emails
    python -m bench.bench_engine --full             # the issue's sizes: 10,000 / 5,000 / 5,000 / 20,000
    python -m bench.bench_engine --contacts 4000 --emails 0
    python -m bench.bench_engine --full --write     # also update the "Engine" section of docs/PERFORMANCE.md
    python -m bench.bench_engine --contacts 10000 --appointments 0 --tasks 0 --emails 0 --latency-ms 50
    python -m bench.bench_engine --curve 1000,10000,40000   # peak RSS by size, contacts only

Measures an initial sync (every CRM row created in the mailbox, every received email tracked in Dynamics 365),
the run right after it, and a run with no changes: requests per side against the lower bound (reads in pages
of 5,000 rows, Dataverse writes in $batch of 1,000, EWS writes of 100 items a request), items per second, peak
memory and CPU time per item.

The stand-ins run in this process (they count the requests); each run of the engine is ``d365sync sync --once``
in a process of its own (bench/engine_child.py), as the status window runs it. That process reports its own
peak resident set size and CPU time: the engine's figures, interpreter and libraries included, stand-ins not.
The bound the issue sets: peak memory under 300 MB at the issue's sizes (the script exits 1 above it); and a
run with nothing to do makes no request to the sign-in authority (exit 1 otherwise). ``--latency-ms`` makes
every stand-in wait before each answer during the measured runs (its own section, "Engine at N ms
latency"); the most requests in flight at once are counted per stand-in.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    PERFORMANCE_MD,
    REPO_ROOT,
    machine_description,
    markdown_table,
    restore_environ,
    today,
    update_section,
)
from wizard.app.instance import claim_instance
from wizard.app.mailbox import bind_mailbox
from wizard.app.orgs import connect_org, save_org

RECORD_KINDS = ["contacts", "appointments", "tasks"]
READ_PAGE, CRM_BATCH, EWS_BATCH, EMAIL_PAGE, SYNC_PAGE = 5000, 1000, 100, 100, 512
FULL = {"contacts": 10_000, "appointments": 5_000, "tasks": 5_000, "emails": 20_000}
MEMORY_BOUND_MB = 300  # the bound for the engine's peak memory (MB = 10^6 bytes)
SENDERS = 20  # distinct senders of the seeded emails (contacts of the user: resolved)


@dataclass(frozen=True)
class Sizes:
    contacts: int
    appointments: int
    tasks: int
    emails: int

    @property
    def records(self) -> int:
        return self.contacts + self.appointments + self.tasks

    @property
    def items(self) -> int:
        return self.records + self.emails

    def of(self, kind: str) -> int:
        return int(getattr(self, kind))


def pages(n: int, size: int) -> int:
    """Requests to move ``n`` items ``size`` at a time (at least one: an empty read is still a request)."""
    return max(1, math.ceil(n / size))


def crm_read_bound(sizes: Sizes) -> int:
    """Initial sync, Dataverse reads per record kind: the change token (the table listed once, it is the
    scope here), the scope's ids (the filter's FetchXML) and the rows, each in pages of 5,000."""
    return sum(3 * pages(sizes.of(k), READ_PAGE) for k in RECORD_KINDS)


def crm_write_bound(sizes: Sizes) -> int:
    """Tracked emails (each with its parties in the same request) in $batch of 1,000."""
    return math.ceil(sizes.emails / CRM_BATCH)


def ews_bound(sizes: Sizes) -> int:
    """Initial sync, EWS: creates of 100 a request; per folder the listing before the writes and the
    catch-up listing past them (SyncFolderItems pages of at most 512 changes); email: the Inbox listed
    (the stamps are changes too: twice the messages), per 100 messages one GetItem and one stamp
    (UpdateItem); the Sent Items listing."""
    record = sum(math.ceil(sizes.of(k) / EWS_BATCH) + 1 + pages(sizes.of(k), SYNC_PAGE) for k in RECORD_KINDS)
    if not sizes.emails:
        return record + 2
    return record + pages(2 * sizes.emails, SYNC_PAGE) + 2 * pages(sizes.emails, EMAIL_PAGE) + 1


# --------------------------------------------------------------------------------------------- setup


def _configure(box: Any, emails: bool, concurrency: int | None = None) -> tuple[Any, Any, Any, str]:
    from wizard.app.factory import Factory
    from wizard.paths import locations
    from wizard.settings import MailboxBinding

    info = box.port_info()
    u = info["users"][0]
    factory = Factory(locations().ensure())
    connected = connect_org(
        factory, info["dataverse_url"], username=u["upn"], password=u["password"], ca_file=info["ca_file"]
    )
    save_org(factory, connected)
    claim_instance(factory)
    if concurrency is not None:  # requests per service on the wire at once (the profile's setting)
        factory.profile.sync.concurrent_requests = concurrency
        factory.save()
    binding = MailboxBinding(
        address=u["primary_email"],
        kind="exchange",
        auth="basic",
        autodiscover_url=info["autodiscover_url"],
        ca_file=info["ca_file"],
    )
    bound = bind_mailbox(factory, binding, u["ews_password"])
    store = factory.mailbox_store(bound)
    client = factory.dataverse(factory.require_sync_org())
    if emails:  # track every received email (incomingemailfilteringmethod 0 = all)
        user_id = connected.org.user_id
        client.update("usersettingscollection", user_id, {"incomingemailfilteringmethod": 0}, etag="*")
    return factory, client, store, connected.org.user_id


def _z(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _seed_crm(client: Any, user_id: str, sizes: Sizes) -> None:
    """The CRM rows, created through $batch (seeding is not what is measured)."""
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
    rows: list[tuple[str, dict[str, Any]]] = []
    for n in range(sizes.contacts):
        row = {"firstname": "Bench", "lastname": f"Contact {n:06d}", "jobtitle": "Tester"}
        if n < SENDERS:
            row["emailaddress1"] = f"sender{n}@fabrikam.example"
        rows.append(("contacts", row))
    for n in range(sizes.appointments):
        begin = start + dt.timedelta(hours=n)
        party = {"partyid_systemuser@odata.bind": f"/systemusers({user_id})", "participationtypemask": 7}
        rows.append(
            (
                "appointments",
                {
                    "subject": f"Meeting {n}",
                    "scheduledstart": _z(begin),
                    "scheduledend": _z(begin + dt.timedelta(minutes=30)),
                    "appointment_activity_parties": [party],
                },
            )
        )
    rows.extend(("tasks", {"subject": f"Task {n}"}) for n in range(sizes.tasks))
    for start_at in range(0, len(rows), CRM_BATCH):
        results = client.create_many(rows[start_at : start_at + CRM_BATCH])
        bad = [r.error for r in results if not r.ok]
        if bad:
            raise SystemExit(f"seeding failed: {bad[0]}")


def _seed_mail(box: Any, address: str, count: int) -> None:
    """Received emails straight into the EWS stand-in's Inbox (through its store, as mail delivery would)."""
    from wizard.sandbox.ews.demo import build_message

    store = box.ews.store
    inbox = store.folder(address, "inbox")
    received = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for n in range(count):
        sender = n % SENDERS
        store.insert(
            address,
            inbox.id,
            build_message(
                subject=f"Order {n}",
                body=f"Please confirm order {n}.",
                sender=(f"Sender {sender}", f"sender{sender}@fabrikam.example"),
                to=[("Me", address)],
                received=received + dt.timedelta(seconds=n),
                message_id=f"<bench-{n:06d}@fabrikam.example>",
            ),
        )


def _ews_operations(ews: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    handle = ews.operations.handle

    def counting(caller: Any, request: Any) -> Any:
        counts[str(request.tag).rsplit("}", 1)[-1]] += 1
        return handle(caller, request)

    ews.operations.handle = counting
    return counts


def _child(home: str, args: Sequence[str]) -> tuple[dict[str, Any], str]:
    """``d365sync ARGS`` in a process of its own (bench/engine_child.py): its own peak RSS and CPU time, and
    what it printed. Empty ``args``: only the engine's modules imported (the baseline)."""
    env = {
        **os.environ,
        "D365SYNC_HOME": home,
        # the profile's secrets are in the test keyring's file in the throw-away profile
        "PYTHON_KEYRING_BACKEND": "tests.support.keyring_backend.TestKeyring",
        "D365SYNC_ALLOW_INSECURE_KEYRING": "plaintext-on-disk",  # that file is in clear (throw-away secrets)
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p),
        # compiled modules kept as an installed program keeps them (in the throw-away profile, not the tree):
        # the first child compiles, the others start as a user's d365sync does
        "PYTHONPYCACHEPREFIX": os.path.join(home, "pycache"),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as folder:
        figures_file = os.path.join(folder, "figures.json")
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "bench.engine_child", figures_file, "--", *args],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        process_seconds = time.perf_counter() - started
        if proc.returncode != 0 or not os.path.exists(figures_file):
            raise SystemExit(
                f"d365sync {' '.join(args)} exited with {proc.returncode}:\n{proc.stderr[-4000:]}"
            )
        with open(figures_file, encoding="utf-8") as handle:
            figures: dict[str, Any] = json.load(handle)
    figures["process_seconds"] = process_seconds  # the whole process: start, imports, run, exit
    return figures, proc.stdout


def _engine_run(home: str, kinds: Sequence[str]) -> dict[str, Any]:
    """One ``d365sync sync --once --json`` in a process of its own, as the status window runs the engine: its
    summary, the run's wall time, and the process's CPU time and peak resident set size (neither the stand-ins
    in this process nor earlier runs are in them)."""
    args = ["sync", "--once", "--json"]
    for kind in kinds:
        args += ["--kind", kind]
    figures, stdout = _child(home, args)
    summary = json.loads(stdout)
    started = dt.datetime.fromisoformat(summary["started"])
    finished = dt.datetime.fromisoformat(summary["finished"])
    return {
        "summary": summary,
        "seconds": (finished - started).total_seconds(),
        "cpu_seconds": figures["cpu_seconds"],
        "maxrss_mib": figures["peak_mib"],
        "process_seconds": figures["process_seconds"],
    }


def _baseline(home: str) -> dict[str, float]:
    """Peak RSS and CPU of a child that imports what the engine imports and does nothing: the interpreter's
    and the libraries' share of the engine's figures."""
    figures, _ = _child(home, [])
    return {"maxrss_mib": figures["peak_mib"], "cpu_seconds": figures["cpu_seconds"]}


# ----------------------------------------------------------------------------------------------- run


def run(
    contacts: int,
    appointments: int | None = None,
    tasks: int | None = None,
    emails: int = 0,
    *,
    latency_ms: float = 0,
    concurrency: int | None = None,
) -> dict[str, Any]:
    """Seed, then three runs (initial, the one right after, no changes); the figures of each.

    ``latency_ms``: every stand-in waits this long before each answer during the three runs (not while
    seeding), as ``d365sync sandbox --latency-ms`` does: a network's round trip."""
    sizes = Sizes(
        contacts,
        contacts // 2 if appointments is None else appointments,
        contacts // 2 if tasks is None else tasks,
        emails,
    )
    import keyring

    from tests.support.keyring_backend import TestKeyring

    saved = {
        name: os.environ.get(name)
        for name in ("D365SYNC_HOME", "PYTHON_KEYRING_BACKEND", "D365SYNC_ALLOW_INSECURE_KEYRING")
    }
    saved_keyring = keyring.get_keyring()
    try:
        # The engine's process reads the mailbox password that this one stores: a file keyring in the
        # throw-away profile, never the user's keyring.
        os.environ["D365SYNC_ALLOW_INSECURE_KEYRING"] = "plaintext-on-disk"  # that keyring is in clear
        keyring.set_keyring(TestKeyring())
        return _run(sizes, latency_ms, concurrency)
    finally:
        keyring.set_keyring(saved_keyring)
        restore_environ(saved)


class InFlight:
    """The most requests the stand-ins (threads of this process) were answering at once, per server."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names  # id(server) -> the service's name
        self._lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.most: Counter[str] = Counter()

    def reset(self) -> None:
        with self._lock:
            self.most.clear()

    def __enter__(self) -> InFlight:
        from wizard.sandbox._http import SandboxHandler

        handle = SandboxHandler._handle
        watch = self

        def counted(handler: Any, method: str) -> None:
            name = watch.names.get(id(handler.server), "other")
            with watch._lock:
                watch.now[name] += 1
                watch.most[name] = max(watch.most[name], watch.now[name])
            try:
                handle(handler, method)
            finally:
                with watch._lock:
                    watch.now[name] -= 1

        self._restore = handle
        SandboxHandler._handle = counted  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        from wizard.sandbox._http import SandboxHandler

        SandboxHandler._handle = self._restore  # type: ignore[method-assign]


def _services(box: Any) -> dict[str, Any]:
    """The running stand-ins by name (every Dataverse environment counts as "dataverse")."""
    named = [
        ("authority", box.authority),
        ("discovery", box.discovery),
        ("ews", box.ews),
        ("graph", box.graph),
    ]
    named += [("dataverse", e) for e in [*box.environments, box.onprem]]
    return {f"{name}:{id(s)}": s for name, s in named if s is not None}


def _run(sizes: Sizes, latency_ms: float = 0, concurrency: int | None = None) -> dict[str, Any]:
    kinds = [*RECORD_KINDS, *(["email"] if sizes.emails else [])]
    with tempfile.TemporaryDirectory() as home:
        os.environ["D365SYNC_HOME"] = home  # a throw-away profile: never the user's
        from wizard.sandbox import Sandbox

        with Sandbox(Path(home) / "sandbox", demo_data=False) as box:
            factory, client, store, user_id = _configure(box, bool(sizes.emails), concurrency)
            store.close()
            seeded = time.perf_counter()
            _seed_crm(client, user_id, sizes)
            _seed_mail(box, box.port_info()["users"][0]["primary_email"], sizes.emails)
            seed_seconds = time.perf_counter() - seeded
            env, ews, authority = box.environments[0].server, box.ews, box.authority.server
            out: dict[str, Any] = {
                "sizes": sizes.__dict__,
                "items": sizes.items,
                "seed_seconds": seed_seconds,
                "baseline": _baseline(home),
                "latency_ms": latency_ms,
                "concurrency": factory.profile.sync.concurrent_requests,
                "concurrency_given": concurrency is not None,
            }
            services = _services(box)
            for service in services.values():
                service.server.latency = latency_ms / 1000
            names = {id(s.server): key.split(":", 1)[0] for key, s in services.items()}
            for label in ("initial", "settle", "nochange"):
                env.reset_counts()
                ews.server.reset_counts()
                authority.reset_counts()
                operations = _ews_operations(ews)
                standin_cpu = time.process_time()  # this process: the stand-ins, serving the run
                with InFlight(names) as in_flight:
                    figures = _engine_run(home, kinds)
                standin_cpu = time.process_time() - standin_cpu
                del ews.operations.handle
                summary = figures.pop("summary")
                if summary["status"] != "ok":
                    raise SystemExit(
                        f"{label} run: {summary['status']} {[(k['kind'], k['message']) for k in summary['kinds']]}"
                    )
                by_method = Counter(method for method, _ in env.request_log)
                by_kind = {
                    k["kind"]: (k["to_mailbox"]["created"], k["to_crm"]["created"]) for k in summary["kinds"]
                }
                out[label] = {
                    **figures,
                    "cpu_ms_per_item": 1000 * figures["cpu_seconds"] / max(1, sizes.items),
                    "crm_requests": env.request_count,
                    "crm_reads": by_method["GET"],
                    "crm_writes": env.request_count - by_method["GET"],
                    "crm_batches": sum(1 for _, path in env.request_log if path.endswith("$batch")),
                    "ews_requests": ews.server.request_count,
                    "ews_operations": dict(operations),
                    "authority_requests": authority.request_count,
                    "most_in_flight": dict(in_flight.most),
                    "standin_cpu_seconds": standin_cpu,
                    "created_in_mailbox": sum(v[0] for v in by_kind.values()),
                    "created_in_crm": sum(v[1] for v in by_kind.values()),
                    "loadavg": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
                }
            return out


# ------------------------------------------------------------------------------------------- output


def _ops(operations: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(operations.items()))


def _mb(mib: float) -> str:
    """MiB as the issue counts memory (MB), with the MiB beside it."""
    return f"{mib * 1.048576:.0f} MB ({mib:.0f} MiB)"


def render(r: dict[str, Any]) -> str:
    sizes = Sizes(**r["sizes"])
    first, settle, again = r["initial"], r["settle"], r["nochange"]
    items = sizes.items
    kinds = len(RECORD_KINDS) + (1 if sizes.emails else 0)
    folders = len(RECORD_KINDS) + (2 if sizes.emails else 0)  # email: Inbox and Sent Items
    rows = [
        [
            "initial sync: Dataverse reads",
            first["crm_reads"],
            crm_read_bound(sizes),
            "per record kind: change token, scope ids (FetchXML), rows - pages of 5,000"
            + (
                "; email: per 100 messages the Message-ID duplicate check, the correlation look-ups and the "
                "party look-up (one query per email-enabled table for all new addresses)"
                if sizes.emails
                else ""
            ),
        ],
        [
            "initial sync: Dataverse writes",
            first["crm_writes"],
            crm_write_bound(sizes),
            f"{first['crm_batches']} `$batch`; the rest per run (claim heartbeat, filter set-up)",
        ],
        [
            "initial sync: EWS requests",
            first["ews_requests"],
            ews_bound(sizes),
            _ops(first["ews_operations"]),
        ],
        [
            "next run: Dataverse requests",
            settle["crm_requests"],
            kinds,
            "1 change read per kind; the claim check, WhoAmI, usersettings and the filters are kept from the "
            "run before (wizard/sync/run_cache.py)"
            + ("; email: usersettings, organization settings, the user" if sizes.emails else ""),
        ],
        [
            "next run: EWS requests",
            settle["ews_requests"],
            folders,
            _ops(settle["ews_operations"]),
        ],
        [
            "no-change run: Dataverse requests",
            again["crm_requests"],
            kinds,
            "1 change read per kind" + ("; email's per-run reads as above" if sizes.emails else ""),
        ],
        [
            "no-change run: EWS requests",
            again["ews_requests"],
            folders,
            _ops(again["ews_operations"]) + " (the server's version is kept: no ConvertId)",
        ],
        [
            "no-change run: sign-in authority",
            again["authority_requests"],
            0,
            "asserted: a run with a cached token asks the authority nothing (its discovery answers are kept "
            f"across runs); initial sync {first['authority_requests']}",
        ],
    ]
    table = markdown_table(["what", "requests", "lower bound", "notes"], rows)
    command = (
        "--full"
        if sizes.__dict__ == FULL
        else f"--contacts {sizes.contacts} --appointments {sizes.appointments} --tasks {sizes.tasks} "
        f"--emails {sizes.emails}"
    )
    if r.get("latency_ms"):
        command += f" --latency-ms {r['latency_ms']:g}"
    if r.get("concurrency_given"):
        command += f" --concurrency {r['concurrency']}"
    in_flight = ", ".join(f"{name} {n}" for name, n in sorted(first["most_in_flight"].items()))
    load = first.get("loadavg")
    load_note = (
        f" Load average when the initial sync ended: {load:.1f} on {os.cpu_count() or 0} cores (other "
        "work shared the machine: wall times are inflated, CPU per item is the steadier figure)."
        if load is not None and load > (os.cpu_count() or 1)
        else ""
    )
    title = f"Engine at {r['latency_ms']:g} ms latency" if r.get("latency_ms") else "Engine"
    return (
        f"## {title}\n\n"
        f"Measured {today()} on {machine_description()} with `python -m bench.bench_engine {command}`: "
        f"{sizes.contacts:,} contacts, {sizes.appointments:,} appointments, {sizes.tasks:,} tasks in "
        f"Dynamics 365 and {sizes.emails:,} received emails to track (every one: incoming-email filtering "
        f'"all"), an empty mailbox otherwise. Seeding took {r["seed_seconds"]:.0f} s.\n\n'
        f"{table}\n\n"
        f"- Initial sync: {items:,} items in {first['seconds']:.1f} s = {items / first['seconds']:.0f} items/s; "
        f"engine CPU {first['cpu_ms_per_item']:.2f} ms per item ({first['cpu_seconds']:.0f} s, interpreter start "
        f"included). The engine's process was busy {first['cpu_seconds'] / first['seconds']:.0%} of the run's wall "
        "time: the rest is waiting for the stand-ins, one Python process serving Dataverse and EWS and holding "
        "every item.\n"
        f"- Engine memory (its own process, peak RSS: `VmHWM`): peak {_mb(first['maxrss_mib'])} in the "
        f"initial sync, {_mb(settle['maxrss_mib'])} in the run after it, {_mb(again['maxrss_mib'])} in a run with "
        f"no changes; bound {MEMORY_BOUND_MB} MB. The interpreter with the engine's libraries imported and "
        f"nothing done: {_mb(r['baseline']['maxrss_mib'])}.\n"
        f"- The run right after it: {settle['seconds']:.1f} s; a run with no changes: "
        f"{again['seconds']:.2f} s, the whole `d365sync sync --once` process {again['process_seconds']:.2f} s "
        f"(interpreter start and imports included).{load_note}\n"
        f"- Stand-in latency: {r.get('latency_ms', 0):g} ms before each answer. Most requests in flight at once "
        f"during the initial sync, per service: {in_flight or 'none'} (the profile allows "
        f"{r.get('concurrency', 1)} per service). The stand-ins (one process, every service) used "
        f"{first.get('standin_cpu_seconds', 0):.0f} s of CPU serving the initial sync, the engine "
        f"{first['cpu_seconds']:.0f} s: on 2 cores neither can finish before its own CPU time.\n"
        "- Lower bounds: reads in pages of 5,000 rows, Dataverse writes in `$batch` of 1,000, EWS writes of "
        "100 items a request. Record kinds read the table's change token, the scope's ids and the rows "
        "(the rows by id instead when the scope is small next to the table). Creates in the mailbox are not "
        "read back (id and change key come with the answer); a created appointment's UID and organizer, "
        "which only the server knows, are read back alone (`GetItem`, 100 a request).\n"
        "- Email tracking streams: the Inbox is listed 500 changes a request and worked 100 messages at a time: "
        "read, checked against Dynamics 365 (Message-IDs, correlation: one query each for the 100) and created "
        "in one `$batch` (each email with its parties in one request, attachments as requests of their own), "
        "then stamped in one `UpdateItem`. Each 100 is a unit of work, committed before the next, so a stopped "
        "run repeats nothing it finished: the Dataverse writes are N/100, not N/1,000. The stamps are changes "
        "too, so the Inbox lists about twice its messages.\n"
        "- The run after a run that wrote to the mailbox lists the folders past the engine's own writes and "
        "reads nothing back: the listing's change keys equal those stored on the links. Stamped emails are "
        "listed again by the Inbox (the stamp is a change) but not read (they are linked). Record folders are "
        "listed 512 changes a page (the most EWS allows: ids and change keys only), email folders 500 (whole "
        "pages of work).\n"
        "- Updates are batched too (not measured here: an initial sync only creates): the pairs changed on one "
        "side go in one `$batch` of PATCHes with If-Match each, or in one `UpdateItem` per 100 items "
        "(tests/integration/test_engine_requests.py).\n"
        "- Memory: the engine streams rows and messages a page at a time; links are looked up by id and a merge "
        "base is read only for a pair that changed (a run with nothing to do reads none); new records are planned "
        "and created 500 at a time. What still grows with the mailbox is, for the kind being synchronized, the CRM "
        "snapshot (ids, versions) and, in a full read, the mapped views of the rows in scope.\n"
    )


def curve(sizes: Sequence[int], latency_ms: float = 0) -> list[dict[str, Any]]:
    """Contacts only, for each N: the initial sync's and the no-change run's peak RSS and wall time."""
    points = []
    for n in sizes:
        r = run(n, 0, 0, 0, latency_ms=latency_ms)
        points.append({"contacts": n, **{label: r[label] for label in ("initial", "nochange")}})
    return points


def render_curve(points: Sequence[dict[str, Any]]) -> str:
    rows = [
        [
            f"{p['contacts']:,}",
            _mb(p["initial"]["maxrss_mib"]),
            f"{p['initial']['seconds']:.1f}",
            f"{p['initial']['cpu_ms_per_item']:.2f}",
            _mb(p["nochange"]["maxrss_mib"]),
            f"{p['nochange']['seconds']:.2f}",
            f"{p['nochange']['crm_requests']} / {p['nochange']['ews_requests']} / "
            f"{p['nochange']['authority_requests']}",
        ]
        for p in points
    ]
    table = markdown_table(
        [
            "contacts",
            "initial: peak RSS",
            "initial s",
            "CPU ms/item",
            "no-change: peak RSS",
            "no-change s",
            "no-change requests (Dataverse / EWS / authority)",
        ],
        rows,
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    sizes = ",".join(str(p["contacts"]) for p in points)
    slopes = ""
    if len(points) > 1:
        slopes = (
            f"\nGrowth per 1,000 contacts (least squares over the sizes): initial sync "
            f"{_slope(points, 'initial'):.2f} MiB, no-change run {_slope(points, 'nochange'):.2f} MiB.\n"
        )
    return (
        "## Engine memory curve\n\n"
        f"Measured {today()} on {machine_description()} (load average {load:.1f} at the end) with "
        f"`python -m bench.bench_engine --curve {sizes}`: contacts only, each size in a fresh sandbox; peak "
        "RSS is the engine process's `VmHWM`.\n\n"
        f"{table}{slopes}\n"
    )


def _slope(points: Sequence[dict[str, Any]], label: str) -> float:
    """MiB of peak RSS per 1,000 contacts, a least-squares line through the curve's points."""
    xs = [p["contacts"] / 1000 for p in points]
    ys = [p[label]["maxrss_mib"] for p in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread if spread else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--appointments", type=int, default=None, help="default: contacts / 2")
    parser.add_argument("--tasks", type=int, default=None, help="default: contacts / 2")
    parser.add_argument("--emails", type=int, default=None, help="default: as many as contacts")
    parser.add_argument("--full", action="store_true", help="the issue's sizes: " + str(FULL))
    parser.add_argument("--write", action="store_true", help="update docs/PERFORMANCE.md")
    parser.add_argument(
        "--latency-ms", type=float, default=0, help="the stand-ins wait this long before each answer"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="requests per service on the wire at once (the profile's concurrent_requests; default: its default)",
    )
    parser.add_argument(
        "--curve",
        help="comma-separated contact counts (e.g. 1000,10000,40000): a peak-RSS curve, contacts only",
    )
    args = parser.parse_args(argv)
    if args.latency_ms < 0:
        parser.error("--latency-ms must be 0 or more")
    if args.concurrency is not None and not 1 <= args.concurrency <= 16:
        parser.error("--concurrency must be a whole number from 1 to 16")
    if args.curve:
        try:
            counts = [int(n) for n in args.curve.split(",")]
        except ValueError:
            parser.error(f"--curve takes whole numbers separated by commas, not {args.curve!r}")
        points = curve(counts, args.latency_ms)
        text = render_curve(points)
        print(text)
        if args.write:
            update_section(PERFORMANCE_MD, "Engine memory curve", text)
        return 1 if any(p["nochange"]["authority_requests"] for p in points) else 0
    if args.full:
        sizes = dict(FULL)
    else:
        sizes = {
            "contacts": args.contacts,
            "appointments": args.appointments if args.appointments is not None else args.contacts // 2,
            "tasks": args.tasks if args.tasks is not None else args.contacts // 2,
            "emails": args.emails if args.emails is not None else args.contacts,
        }
    result = run(
        sizes["contacts"],
        sizes["appointments"],
        sizes["tasks"],
        sizes["emails"],
        latency_ms=args.latency_ms,
        concurrency=args.concurrency,
    )
    text = render(result)
    print(text)
    if args.write:
        update_section(PERFORMANCE_MD, text.splitlines()[0].removeprefix("## "), text)
    if result["nochange"]["authority_requests"]:
        print("a run with nothing to do asked the sign-in authority", file=sys.stderr)
        return 1
    peak = max(result[label]["maxrss_mib"] for label in ("initial", "settle", "nochange"))
    if peak * 1.048576 >= MEMORY_BOUND_MB:
        print(
            f"the engine's peak memory {_mb(peak)} is over the bound of {MEMORY_BOUND_MB} MB", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
