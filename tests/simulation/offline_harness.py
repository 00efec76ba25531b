"""A seeded model of offline edits and server edits meeting at go-online, with faults, kills and the invariants.

The sandbox and the profile are real (the Dataverse stand-in, ``Factory`` signed in as the wizard does it);
the model remembers which field was changed offline and on the server to which value, which records were
created or deleted on either side, so that after the replay it can say whether anything was duplicated or
lost: every field changed offline must end in Dynamics 365 or in the store's conflict log (a decision, or a
question for the user), every delete made offline must have happened or be held for the user.
Go-online runs in ``offline_worker.py`` and is SIGKILLed while the stand-in holds its k-th request (the
request is applied after the process died: "made remotely, never recorded locally"), then runs again.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.simulation.engine_harness import TIMEOUT, KillSwitch
from wizard.app import offline
from wizard.app.factory import Factory
from wizard.crm.client import DataverseClient
from wizard.odata.retry import FaultTolerance
from wizard.offline.store import OfflineStore
from wizard.sandbox import Sandbox
from wizard.settings.enums import ConflictPolicy

WORKER = Path(__file__).with_name("offline_worker.py")
STATS_ENV = "D365SYNC_SIM_STATS"
#: offline table -> (entity set, key, fields the model edits)
TABLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "contact": ("contacts", "contactid", ("jobtitle", "telephone1", "address1_city", "description")),
    "account": ("accounts", "accountid", ("telephone1", "address1_city", "description")),
}
NAME = {"contact": "lastname", "account": "name"}


def fast_dataverse(factory_class: type[Factory]) -> None:
    """Every Dataverse client the factory makes records its retry waits instead of sleeping them."""
    original = factory_class.dataverse
    if getattr(original, "_fast", False):
        return

    def dataverse(self: Factory, org: Any) -> DataverseClient:
        client = original(self, org)
        client.session.retry_policy = FaultTolerance(max_wait=300.0, max_attempts=8, rng=random.Random(0))
        client.session.sleeper = lambda _seconds: None
        return client

    dataverse._fast = True  # type: ignore[attr-defined]
    factory_class.dataverse = dataverse  # type: ignore[method-assign]


@dataclass
class Stats:
    policy: str = ""
    offline_edits: int = 0
    server_edits: int = 0
    kills: int = 0
    runs: int = 0
    failed_runs: int = 0  # ended by a fault (an error the faces show), not by a kill
    faults_hit: Counter[str] = field(default_factory=Counter)
    conflicts: int = 0
    held: int = 0
    held_at_a_kill: list[str] = field(default_factory=list)


@dataclass
class OfflineWorld:
    """One seed: the records, what was edited where, and the kills and faults of its go-online."""

    factory: Factory
    sandbox: Sandbox
    seed: int
    rnd: random.Random = field(init=False)
    client: DataverseClient = field(init=False)
    names: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, id) -> its name
    from_server: set[tuple[str, str]] = field(default_factory=set)
    created: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # offline creates
    offline_fields: dict[tuple[str, str, str], str] = field(default_factory=dict)
    server_fields: dict[tuple[str, str, str], str] = field(default_factory=dict)
    offline_deleted: set[tuple[str, str]] = field(default_factory=set)
    server_deleted: set[tuple[str, str]] = field(default_factory=set)
    parent_of: dict[str, str] = field(
        default_factory=dict
    )  # offline-created contact -> offline-created account
    stats: Stats = field(default_factory=Stats)
    _n: int = 0

    def __post_init__(self) -> None:
        self.rnd = random.Random(self.seed)
        self.client = self.factory.dataverse(self.factory.require_sync_org())

    def value(self, tag: str) -> str:
        self._n += 1
        return f"{tag}{self.seed}-{self._n}"

    # -- setup -----------------------------------------------------------------------------------------
    def setup(self) -> None:
        """Server records, the user's policy, go offline (no faults yet)."""
        policy = self.rnd.choice(list(ConflictPolicy))
        self.stats.policy = str(policy)
        self.factory.profile.sync.set_policy(policy)
        self.factory.save()
        accounts = []
        for n in range(2):
            name = f"Srv{self.seed}-A{n}"
            row_id = self.client.create("accounts", {"name": name, "telephone1": "t0"})
            accounts.append(row_id)
            self.names[("account", row_id)] = name
        for n in range(8):
            name = f"Srv{self.seed}-C{n}"
            row_id = self.client.create(
                "contacts",
                {
                    "firstname": "S",
                    "lastname": name,
                    "jobtitle": "j0",
                    "telephone1": "t0",
                    "parentcustomerid_account@odata.bind": f"/accounts({accounts[n % 2]})",
                },
            )
            self.names[("contact", row_id)] = name
        self.from_server = set(self.names)
        offline.go_offline(self.factory)

    # -- edits -----------------------------------------------------------------------------------------
    def _alive_offline(self, tbl: str | None = None) -> list[tuple[str, str]]:
        return sorted(k for k in self.names if k not in self.offline_deleted and (tbl is None or k[0] == tbl))

    def _alive_server(self, tbl: str | None = None) -> list[tuple[str, str]]:
        return sorted(
            k
            for k in self.from_server
            if k not in self.server_deleted and k not in self.offline_deleted and (tbl is None or k[0] == tbl)
        )

    def offline_create_pair(self) -> None:
        """A new account and a new contact referring to it: the contact must replay after the account."""
        name = f"Off{self.seed}-A"
        account = offline.create_record(self.factory, "accounts", {"name": name, "telephone1": "t1"})
        self.names[("account", account)] = name
        self.created[("account", account)] = {"name": name, "telephone1": "t1"}
        contact_name = f"Off{self.seed}-C0"
        contact = offline.create_record(
            self.factory,
            "contacts",
            {"lastname": contact_name, "jobtitle": "new", "parentcustomerid": f"account:{account}"},
        )
        self.names[("contact", contact)] = contact_name
        self.created[("contact", contact)] = {"lastname": contact_name, "jobtitle": "new"}
        self.parent_of[contact] = account
        self.stats.offline_edits += 2

    def offline_create(self) -> None:
        name = f"Off{self.seed}-C{len(self.created)}"
        contact = offline.create_record(self.factory, "contacts", {"lastname": name, "jobtitle": "new"})
        self.names[("contact", contact)] = name
        self.created[("contact", contact)] = {"lastname": name, "jobtitle": "new"}
        self.stats.offline_edits += 1

    def offline_update(self) -> None:
        tbl, row_id = self.rnd.choice(self._alive_offline())
        column = self.rnd.choice(TABLES[tbl][2])
        value = self.value("off")
        offline.update_record(self.factory, TABLES[tbl][0], row_id, {column: value})
        self.offline_fields[(tbl, row_id, column)] = value
        if (tbl, row_id) in self.created:
            self.created[(tbl, row_id)][column] = value
        self.stats.offline_edits += 1

    def offline_delete(self) -> None:
        choices = [k for k in self._alive_offline("contact") if k not in self.parent_of_any()]
        if not choices:
            return
        key = self.rnd.choice(choices)
        offline.delete_record(self.factory, "contacts", key[1])
        self.offline_deleted.add(key)
        self.created.pop(key, None)  # created and deleted offline: nothing to send
        self.stats.offline_edits += 1

    def parent_of_any(self) -> set[tuple[str, str]]:
        return {("contact", c) for c in self.parent_of}

    def server_update(self) -> None:
        choices = [k for k in self.from_server if k not in self.server_deleted]
        tbl, row_id = self.rnd.choice(sorted(choices))
        column = self.rnd.choice(TABLES[tbl][2])
        value = self.value("srv")
        self.client.update(TABLES[tbl][0], row_id, {column: value})
        self.server_fields[(tbl, row_id, column)] = value
        self.stats.server_edits += 1

    def server_delete(self) -> None:
        choices = sorted(k for k in self.from_server if k[0] == "contact" and k not in self.server_deleted)
        key = self.rnd.choice(choices)
        self.client.delete("contacts", key[1])
        self.server_deleted.add(key)
        self.stats.server_edits += 1

    def interleaved_edits(self) -> None:
        """The account + contact pair, then offline and server edits in a seeded order."""
        self.offline_create_pair()
        steps = ["offline_update"] * self.rnd.randint(5, 10) + ["server_update"] * self.rnd.randint(2, 6)
        steps += ["offline_delete"] * self.rnd.randint(0, 2) + ["server_delete"] * self.rnd.randint(0, 1)
        steps += ["offline_create"] * self.rnd.randint(0, 2)
        self.rnd.shuffle(steps)
        for step in steps:
            getattr(self, step)()

    # -- faults and kills --------------------------------------------------------------------------------
    def arm_faults(self) -> None:
        """A handful of faults on the Dataverse stand-in: 429 (Retry-After 0), 503, dropped connections,
        latency, on every path or only the $batch or the contacts requests."""
        plan = self.sandbox.faults
        for _ in range(self.rnd.randint(1, 4)):
            kind = self.rnd.choice(["throttle", "error", "drop", "latency"])
            remaining = self.rnd.randint(1, 3)
            path = self.rnd.choice(["", "$batch", "contacts"])
            if kind == "throttle":
                plan.throttle(0, remaining=remaining, path_contains=path)
            elif kind == "error":
                plan.error(503, remaining=remaining, path_contains=path)
            elif kind == "drop":
                plan.drop(remaining=remaining, path_contains=path, probability=self.rnd.choice([1.0, 0.5]))
            else:
                plan.latency(0.01, remaining=remaining, path_contains=path)

    def clear_faults(self) -> None:
        plan = self.sandbox.faults
        self.stats.faults_hit.update(plan.hits)
        plan.hits.clear()
        plan.clear()

    def kill_point(self) -> tuple[int, bool]:
        """(k, from the first $batch): mostly inside the replay (the k-th request from its first $batch:
        the writes, the merge's reads and writes, the refresh after), else anywhere from the start."""
        if self.rnd.random() < 0.75:
            return self.rnd.randint(1, 4), True
        return self.rnd.randint(1, 14), False

    def killed_run(self, k: int, log: Path, *, from_batch: bool = False) -> bool:
        """Go online in ``offline_worker.py``; SIGKILL it while the stand-in holds its k-th request (counted
        from the first ``$batch`` when ``from_batch``). True if it was killed (False: it finished first)."""
        switch = KillSwitch(k, (lambda _method, path: "$batch" in path) if from_batch else None)
        server = self.sandbox.environments[0].server
        server.on_request = switch
        try:
            with log.open("a") as out:
                proc = subprocess.Popen(
                    [sys.executable, str(WORKER)], env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT
                )
                try:
                    while not switch.reached.is_set() and proc.poll() is None:
                        switch.reached.wait(0.05)
                    killed = switch.reached.is_set()
                    if killed:
                        proc.kill()
                    proc.wait(TIMEOUT)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait(TIMEOUT)
        finally:
            server.on_request = None
            switch.release.set()
            if switch.thread is not None:  # the held request is applied, its answer goes nowhere
                switch.thread.join(TIMEOUT)
        if not killed and proc.returncode != 0:  # a fault it may not retry (a dropped $batch): a clear error
            text = log.read_text()
            assert "wizard.odata.errors." in text or "wizard.errors." in text, text
            self.stats.failed_runs += 1
        self.stats.runs += 1
        if killed:
            self.stats.kills += 1
            self.stats.held_at_a_kill.append(f"{k}:{switch.held}")
        return killed

    def go_online(self) -> offline.OnlineResult:
        self.stats.runs += 1
        try:
            return offline.go_online(self.factory)
        except Exception:
            self.stats.failed_runs += 1
            raise

    # -- invariants ------------------------------------------------------------------------------------
    def server_rows(self, tbl: str) -> dict[str, dict[str, Any]]:
        entity_set, key, columns = TABLES[tbl]
        extra = ["_parentcustomerid_value"] if tbl == "contact" else []
        rows = self.client.query(entity_set, select=[key, NAME[tbl], *columns, *extra])
        return {str(r[key]).lower(): r for r in rows}

    def check(self) -> list[str]:
        """Every broken invariant, in words (empty: all hold)."""
        problems: list[str] = []
        with OfflineStore.open(offline.store_file(self.factory)) as store:
            queue = store.queue()
            conflicts = store.conflicts()
        pending = [c for c in queue if c.status == "pending"]
        if pending:
            problems.append(
                f"still pending after the last clean run: {[(c.table, c.id, c.op) for c in pending]}"
            )
        open_records = {(c.table, c.row_id) for c in conflicts if not c.resolved}
        whole = {(c.table, c.row_id) for c in conflicts if not c.resolved and c.field == "*"}
        for change in queue:
            if (change.table, change.id) not in open_records:
                problems.append(
                    f"held without a question for the user: {change.table} {change.id} {change.note}"
                )
        rows = {tbl: self.server_rows(tbl) for tbl in TABLES}
        names = Counter(str(r[NAME[tbl]]) for tbl in TABLES for r in rows[tbl].values())
        for name, count in names.items():
            if count > 1:
                problems.append(f"duplicate: {name} x{count}")
        for (tbl, row_id), fields in self.created.items():
            row = rows[tbl].get(row_id)
            if row is None:
                problems.append(f"offline create lost: {tbl} {fields}")
                continue
            for column, value in fields.items():
                if row.get(column) != value and not self._in_log(conflicts, tbl, row_id, column, local=value):
                    problems.append(
                        f"offline create {tbl} {row_id}: {column}={row.get(column)!r}, not {value!r}"
                    )
        for contact, account in self.parent_of.items():
            row = rows["contact"].get(contact)
            if row is not None and str(row.get("_parentcustomerid_value") or "").lower() != account:
                problems.append(f"new contact {contact} lost its new account {account}")
        for (tbl, row_id, column), value in self.offline_fields.items():
            if (tbl, row_id) in self.offline_deleted:
                continue
            row = rows[tbl].get(row_id)
            if row is not None and row.get(column) == value:
                continue
            if self._in_log(conflicts, tbl, row_id, column, local=value) or (tbl, row_id) in whole:
                continue
            problems.append(
                f"offline edit lost: {self.names[(tbl, row_id)]}.{column}={value!r} "
                f"(Dynamics 365: {row.get(column) if row else 'no row'!r})"
            )
        for tbl, row_id in self.offline_deleted:
            if row_id in rows[tbl] and (tbl, row_id) not in whole:
                problems.append(f"offline delete lost: {self.names[(tbl, row_id)]}")
        for (tbl, row_id, column), value in self.server_fields.items():
            row = rows[tbl].get(row_id)
            if (tbl, row_id) in self.server_deleted or (row is not None and row.get(column) == value):
                continue
            if self._in_log(conflicts, tbl, row_id, column, server=value):
                continue
            problems.append(
                f"server edit overwritten silently: {self.names[(tbl, row_id)]}.{column}={value!r} "
                f"(now {row.get(column) if row else 'no row'!r})"
            )
        self.stats.conflicts = len(conflicts)
        self.stats.held = len({(c.table, c.id) for c in queue})
        return problems

    @staticmethod
    def _in_log(conflicts: list[Any], tbl: str, row_id: str, column: str, **value: str) -> bool:
        """A decision or an open question about this field with this value on the given side."""
        for c in conflicts:
            if c.table != tbl or c.row_id != row_id or c.field != column:
                continue
            if "local" in value and c.local_value == value["local"]:
                return True
            if "server" in value and c.server_value == value["server"]:
                return True
        return False

    def report(self, problems: list[str]) -> None:
        figures = {"test": "offline", "seed": self.seed, "problems": len(problems), **self.stats.__dict__}
        print(f"\noffline seed {self.seed}: {figures}")
        target = os.environ.get(STATS_ENV)
        if target:
            with open(target, "a", encoding="utf-8") as out:
                out.write(json.dumps(figures, default=str) + "\n")
