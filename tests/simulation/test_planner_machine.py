"""A Hypothesis state machine over the planner: two in-memory sides, random edits, syncs and lost state.

The test holds a tiny CRM (rows with scope and ownership), a tiny mailbox (items with crmid/crmlinkstate)
and an executor that applies plans the way the real one must (creates stamp crmid and link, deletes
forget, unlinks stamp crmlinkstate 0, the base is written at UpdateBase). After every sync it checks:
links are one-to-one and point at live, in-scope records carrying the right crmid; linked records agree
on every synced field (except those left to the user by "ask"); no edit is lost (it is still there, or
its value is in the conflict log); every delete the engine made obeys the table (reference B.9); no
record is ever in the mailbox twice; and a second sync right after writes nothing (the run settles).

Failures print the Hypothesis reproduction blob (``print_blob=True``); CI runs derandomized.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from wizard.settings.enums import Kind
from wizard.sync.merge import POLICIES, FieldConflict, canonical, parse_time
from wizard.sync.model import KINDS, Direction, Fields, Link
from wizard.sync.planner import (
    CreateInCrm,
    CreateInMailbox,
    CrmChanges,
    DeleteInCrm,
    DeleteInMailbox,
    ForgetLink,
    MailboxChanges,
    Operation,
    Plan,
    RecordConflict,
    Relink,
    Rules,
    Unlink,
    UpdateBase,
    UpdateCrm,
    UpdateMailbox,
    lookups,
    plan,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FIELDS = ("subject", "description", "attendees")
TEXT = st.sampled_from(["a", "b", "c", None])
PEOPLE = [{"address": f"{p}@x.test", "name": p.upper(), "type": "required"} for p in "pqr"]
ATTENDEES = st.lists(st.sampled_from(PEOPLE), unique_by=lambda a: a["address"], max_size=3)
ENDS = st.sampled_from(["2026-12-01T10:00:00Z", "2026-11-01T10:00:00Z", None])
STATES = st.sampled_from(["open", "completed", "canceled"])
WRITES = (CreateInCrm, CreateInMailbox, UpdateCrm, UpdateMailbox, DeleteInCrm, DeleteInMailbox)

settings.register_profile(
    "ci",
    max_examples=250,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev", max_examples=300, stateful_step_count=40, deadline=None, print_blob=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
settings.register_profile(
    "soak", max_examples=1500, stateful_step_count=60, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip


def _key(*values: Any) -> str:
    return json.dumps([canonical(v) for v in values], sort_keys=True)


def _value(draw_field: str, data: st.DataObject) -> Any:
    return data.draw(ATTENDEES if draw_field == "attendees" else TEXT, label=draw_field)


class PlannerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.kind: Kind = Kind.CONTACTS
        self.directions: dict[str, Direction] = {}
        self.crm: dict[str, Fields] = {}
        self.in_scope: dict[str, bool] = {}
        self.mbx: dict[str, Fields] = {}
        self.links: dict[str, Link] = {}
        self.conflicts: list[FieldConflict] = []
        self.counter = 0
        self.tick = 0
        self.reset_feeds()
        self.full = False
        self.edits: dict[tuple[str, str, str], Any] = {}
        self.before_edit: dict[tuple[str, str, str], Any] = {}
        self.user_deleted: dict[tuple[str, str], Fields] = {}

    def reset_feeds(self) -> None:
        self.crm_changed: set[str] = set()
        self.crm_deleted: set[str] = set()
        self.crm_left: set[str] = set()
        self.mbx_changed: set[str] = set()
        self.mbx_deleted: set[str] = set()

    def new_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter:03}"

    def stamp(self) -> str:
        self.tick += 1
        return (NOW - timedelta(hours=1) + timedelta(seconds=self.tick)).strftime("%Y-%m-%dT%H:%M:%SZ")

    # ------------------------------------------------------------------------------------ user actions

    @initialize(
        kind=st.sampled_from(KINDS),
        directions=st.fixed_dictionaries(
            {f: st.sampled_from([Direction.BOTH, Direction.BOTH, Direction.TO_MAILBOX, Direction.TO_CRM, Direction.NONE])
             for f in FIELDS}
        ),
        data=st.data(),
    )  # fmt: skip
    def setup(self, kind: Kind, directions: dict[str, Direction], data: st.DataObject) -> None:
        """Start from a synced pair of small stores, so edits, deletes and scope changes have targets."""
        self.kind, self.directions = self.fixed_kind or kind, directions
        for _ in range(data.draw(st.integers(0, 4), label="crm rows")):
            self.create_in_crm(data, data.draw(st.booleans()), data.draw(st.booleans()), data.draw(ENDS),
                               data.draw(STATES), data.draw(st.booleans()))  # fmt: skip
        for _ in range(data.draw(st.integers(0, 2), label="mailbox items")):
            self.create_in_mailbox(
                data, "category", data.draw(st.booleans()), data.draw(ENDS), data.draw(STATES)
            )
        self.sync("crm_wins", data)

    fixed_kind: Kind | None = None

    def synced(self) -> list[str]:
        return [f for f in FIELDS if self.directions[f] != Direction.NONE]

    @rule(
        data=st.data(),
        owned=st.booleans(),
        organizer=st.booleans(),
        end=ENDS,
        state=STATES,
        scope=st.booleans(),
    )
    def create_in_crm(self, data: st.DataObject, owned: bool, organizer: bool, end: str | None, state: str, scope: bool) -> None:  # fmt: skip
        cid = self.new_id("c")
        row: Fields = {f: _value(f, data) for f in FIELDS}
        row.update({"@owned_by_me": owned, "@is_organizer": organizer, "@end": end, "@state": state})
        row["@modified"] = self.stamp()
        self.crm[cid], self.in_scope[cid] = row, scope
        if scope:
            self.crm_changed.add(cid)

    @rule(data=st.data(), tracking=st.sampled_from(["category", "pending", "no"]), organizer=st.booleans(),
          end=ENDS, state=STATES)  # fmt: skip
    def create_in_mailbox(self, data: st.DataObject, tracking: str, organizer: bool, end: str | None, state: str) -> None:  # fmt: skip
        mid = self.new_id("m")
        item: Fields = {f: _value(f, data) for f in FIELDS}
        item.update({"@owned_by_me": True, "@is_organizer": organizer, "@end": end, "@state": state})
        item.update({"@crmid": None, "@linkstate": 1 if tracking == "pending" else None})
        item.update({"@tracked": tracking == "category", "@modified": self.stamp()})
        self.mbx[mid] = item
        self.mbx_changed.add(mid)

    @precondition(lambda self: self.crm)
    @rule(data=st.data(), field=st.sampled_from(FIELDS))
    def edit_in_crm(self, data: st.DataObject, field: str) -> None:
        cid = data.draw(st.sampled_from(sorted(self.crm)), label="crm id")
        value = _value(field, data)
        self.before_edit.setdefault(("crm", cid, field), self.crm[cid].get(field))
        self.crm[cid][field] = value
        self.crm[cid]["@modified"] = self.stamp()
        self.edits[("crm", cid, field)] = value
        if self.in_scope[cid]:
            self.crm_changed.add(cid)

    @precondition(lambda self: self.mbx)
    @rule(data=st.data(), field=st.sampled_from(FIELDS))
    def edit_in_mailbox(self, data: st.DataObject, field: str) -> None:
        mid = data.draw(st.sampled_from(sorted(self.mbx)), label="mailbox id")
        value = _value(field, data)
        self.before_edit.setdefault(("mailbox", mid, field), self.mbx[mid].get(field))
        self.mbx[mid][field] = value
        self.mbx[mid]["@modified"] = self.stamp()
        self.edits[("mailbox", mid, field)] = value
        self.mbx_changed.add(mid)

    @precondition(lambda self: self.crm)
    @rule(data=st.data())
    def delete_in_crm(self, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(sorted(self.crm)), label="crm id")
        self.user_deleted[("crm", cid)] = self.crm.pop(cid)
        self.crm_deleted.add(cid)
        self.crm_changed.discard(cid)

    @precondition(lambda self: self.mbx)
    @rule(data=st.data())
    def delete_in_mailbox(self, data: st.DataObject) -> None:
        mid = data.draw(st.sampled_from(sorted(self.mbx)), label="mailbox id")
        self.user_deleted[("mailbox", mid)] = self.mbx.pop(mid)
        self.mbx_deleted.add(mid)
        self.mbx_changed.discard(mid)

    @precondition(lambda self: any(self.in_scope.get(c) for c in self.crm))
    @rule(data=st.data())
    def leave_scope(self, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(sorted(c for c in self.crm if self.in_scope[c])), label="crm id")
        self.in_scope[cid] = False
        self.crm_left.add(cid)
        self.crm_changed.discard(cid)

    @precondition(lambda self: any(not self.in_scope.get(c) for c in self.crm))
    @rule(data=st.data())
    def enter_scope(self, data: st.DataObject) -> None:
        cid = data.draw(st.sampled_from(sorted(c for c in self.crm if not self.in_scope[c])), label="crm id")
        self.in_scope[cid] = True
        self.crm_left.discard(cid)
        self.crm_changed.add(cid)

    @rule()
    def lose_state(self) -> None:
        """The state DB is gone: no links, no cursors; both sides list everything next time."""
        self.links = {}
        self.full = True

    # -------------------------------------------------------------------------------------- the engine

    def gather(self) -> tuple[CrmChanges, MailboxChanges]:
        crm_ids = {c for c in self.crm if self.in_scope[c]} if self.full else self.crm_changed
        changed = {c: dict(self.crm[c]) for c in sorted(crm_ids) if c in self.crm and self.in_scope[c]}
        left = set() if self.full else {c for c in self.crm_left if c in self.crm and not self.in_scope[c]}
        deleted = set() if self.full else {c for c in self.crm_deleted if c not in self.crm}
        crm = CrmChanges(changed, frozenset(deleted), frozenset(left), self.full, len(self.crm))
        mbx_ids = set(self.mbx) if self.full else self.mbx_changed
        items = {m: dict(self.mbx[m]) for m in sorted(mbx_ids) if m in self.mbx}
        gone = set() if self.full else {m for m in self.mbx_deleted if m not in self.mbx}
        mbx = MailboxChanges(items, frozenset(gone), self.full, len(self.mbx))
        # The engine's look-ups before planning (relink instead of duplicating).
        found = lookups(self.links, crm, mbx)
        for cid in found.mailbox_items_for:
            for mid, item in self.mbx.items():
                if item.get("@crmid") == cid:
                    items[mid] = dict(item)
        for cid in found.crm_rows:
            if cid not in self.crm:
                deleted.add(cid)
            elif self.in_scope[cid]:
                changed[cid] = dict(self.crm[cid])
            else:
                left.add(cid)
        crm = CrmChanges(changed, frozenset(deleted), frozenset(left), self.full, len(self.crm))
        mbx = MailboxChanges(items, frozenset(gone), self.full, len(self.mbx))
        return crm, mbx

    def make_plan(self, policy: str, data: st.DataObject) -> Plan:
        crm, mbx = self.gather()
        rules = Rules(self.directions, NOW, policy, mass_delete_min=2, mass_delete_fraction=0.25)  # type: ignore[arg-type]
        p = plan(self.kind, self.links, crm, mbx, rules)
        assert p.kind == self.kind
        assert p == plan(self.kind, dict(self.links), crm, mbx, rules)  # deterministic
        if p.needs_confirmation is not None:
            assert p.operations == ()
            answer = data.draw(st.sampled_from(["force", "decline"]), label="mass delete answer")
            extra = {"force": True} if answer == "force" else {"decline_deletes": True}
            rules = Rules(self.directions, NOW, policy, mass_delete_min=2, mass_delete_fraction=0.25, **extra)  # type: ignore[arg-type]
            p = plan(self.kind, self.links, crm, mbx, rules)
            assert p.needs_confirmation is None
        return p

    def apply(self, p: Plan) -> tuple[list[Operation], list[FieldConflict]]:
        """The in-memory executor; returns the deletes it made and the conflicts it recorded."""
        self.reset_feeds()
        deletes: list[Operation] = []
        recorded: list[FieldConflict] = []
        for op in p.operations:
            if isinstance(op, CreateInMailbox):
                assert not any(i.get("@crmid") == op.crm_id for i in self.mbx.values()), "duplicate create"
                mid = self.new_id("m")
                meta = {k: op.base.get(k) for k in ("@is_organizer", "@end", "@state")}
                self.mbx[mid] = {**op.fields, **meta, "@owned_by_me": True, "@crmid": op.crm_id, "@linkstate": 2,
                                 "@tracked": False, "@modified": self.stamp()}  # fmt: skip
                self.add_link(op.crm_id, mid, op.base)
                self.mbx_changed.add(mid)
            elif isinstance(op, CreateInCrm):
                cid = self.new_id("c")
                meta = {k: op.base.get(k) for k in ("@owned_by_me", "@is_organizer", "@end", "@state")}
                self.crm[cid] = {**op.fields, **meta, "@modified": self.stamp()}
                self.in_scope[cid] = True
                self.mbx[op.mailbox_id].update({"@crmid": cid, "@linkstate": 2})
                self.add_link(cid, op.mailbox_id, op.base)
                self.crm_changed.add(cid)
                self.mbx_changed.add(op.mailbox_id)
            elif isinstance(op, UpdateCrm):
                self.crm[op.crm_id].update(op.changes)
                self.crm[op.crm_id]["@modified"] = self.stamp()
                self.crm_changed.add(op.crm_id)
            elif isinstance(op, UpdateMailbox):
                self.mbx[op.mailbox_id].update(op.changes)
                self.mbx[op.mailbox_id]["@modified"] = self.stamp()
                self.mbx_changed.add(op.mailbox_id)
            elif isinstance(op, DeleteInCrm):
                deletes.append(op)
                del self.crm[op.crm_id]
                del self.links[op.crm_id]
                self.crm_deleted.add(op.crm_id)
            elif isinstance(op, DeleteInMailbox):
                deletes.append(op)
                del self.mbx[op.mailbox_id]
                del self.links[op.crm_id]
                self.mbx_deleted.add(op.mailbox_id)
            elif isinstance(op, Unlink):
                if op.mailbox_id is not None and op.mailbox_id in self.mbx:
                    self.mbx[op.mailbox_id]["@linkstate"] = 0
                    self.mbx_changed.add(op.mailbox_id)
                if op.crm_id is not None:
                    self.links.pop(op.crm_id, None)
            elif isinstance(op, ForgetLink):
                del self.links[op.crm_id]
            elif isinstance(op, Relink):
                self.add_link(op.crm_id, op.mailbox_id, None)
                self.mbx[op.mailbox_id]["@linkstate"] = 2
                self.mbx_changed.add(op.mailbox_id)
            elif isinstance(op, RecordConflict):
                recorded.append(op.conflict)
            elif isinstance(op, UpdateBase):
                old = self.links[op.crm_id]
                assert old.mailbox_id == op.mailbox_id
                self.links[op.crm_id] = Link(self.kind, op.crm_id, op.mailbox_id, op.base)
            else:  # pragma: no cover - a new operation type the executor does not know
                raise AssertionError(op)
        self.conflicts.extend(recorded)
        return deletes, recorded

    def add_link(self, cid: str, mid: str, base: Fields | None) -> None:
        assert cid not in self.links, f"{cid} linked twice"
        assert all(lk.mailbox_id != mid for lk in self.links.values()), f"{mid} linked twice"
        self.links[cid] = Link(self.kind, cid, mid, base)

    @rule(policy=st.sampled_from(POLICIES), data=st.data())
    def sync_again(self, policy: str, data: st.DataObject) -> None:
        """A second sync rule: syncs between user actions twice as often as any single action."""
        self.sync(policy, data)

    @rule(policy=st.sampled_from(POLICIES), data=st.data())
    def sync(self, policy: str, data: st.DataObject) -> None:
        deleted_before = dict(self.user_deleted)
        deletes, recorded = self.apply(self.make_plan(policy, data))
        self.full = False
        self.check_deletes(deletes, deleted_before)
        self.check_no_edit_lost(recorded)
        self.edits.clear()
        self.before_edit.clear()
        self.user_deleted.clear()
        # The run settles: syncing again right away (echoes of our own writes only) writes nothing.
        again = self.make_plan(policy, data)
        writes = [op for op in again.operations if isinstance(op, WRITES)]
        assert writes == [], f"second run still writes: {writes}"
        self.apply(again)
        self.check_converged()
        self.check_links()

    # ------------------------------------------------------------------------------------------ checks

    def check_deletes(self, deletes: list[Operation], user_deleted: dict[tuple[str, str], Fields]) -> None:
        for op in deletes:
            if isinstance(op, DeleteInCrm):
                assert self.kind != "contacts", "a contact deleted in the mailbox must not delete in CRM"
                assert ("mailbox", op.mailbox_id) in user_deleted, "CRM delete without a mailbox delete"
                assert self.in_scope[op.crm_id], "a record that left the sync filter must never be deleted"
            elif isinstance(op, DeleteInMailbox):
                row = user_deleted.get(("crm", op.crm_id))
                assert row is not None, "mailbox delete without a CRM delete"
                if self.kind == "contacts":
                    assert row["@owned_by_me"] is False
                elif self.kind == "appointments":
                    end = parse_time(row["@end"])
                    assert row["@owned_by_me"] or row["@is_organizer"]
                    assert end is None or end >= NOW
                else:
                    assert row["@state"] == "open"

    def check_no_edit_lost(self, recorded: list[FieldConflict]) -> None:
        for (side, rid, field), value in self.edits.items():
            store = self.crm if side == "crm" else self.mbx
            want = canonical(value)
            if want == canonical(self.before_edit[(side, rid, field)]):
                continue  # edited back to what it was: no change any sync could see
            if rid in store:
                if canonical(store[rid].get(field)) == want:
                    continue
                losing = [c.crm if side == "crm" else c.mailbox for c in recorded if c.field == field]
                assert want in [canonical(v) for v in losing], f"edit lost: {side} {rid} {field}={value!r}"
            elif (side, rid) not in self.user_deleted and not (want is None and field not in self.synced()):
                whole = [c.crm if side == "crm" else c.mailbox for c in recorded if c.field == "*"]
                kept = [w for w in whole if isinstance(w, dict) and canonical(w.get(field)) == want]
                assert kept, f"record deleted by sync with its edit unrecorded: {side} {rid} {field}"

    def check_converged(self) -> None:
        open_fields = {_key(c.crm, c.mailbox, c.field) for c in self.conflicts if c.winner is None}
        for cid, lk in self.links.items():
            crm, item = self.crm[cid], self.mbx[lk.mailbox_id]
            for field in self.synced():
                c, m = crm.get(field), item.get(field)
                if canonical(c) != canonical(m):
                    assert _key(c, m, field) in open_fields, (
                        f"{cid}/{lk.mailbox_id} differ on {field}: {c!r} vs {m!r}"
                    )

    @invariant()
    def links_are_one_to_one(self) -> None:
        mailbox_ids = [lk.mailbox_id for lk in self.links.values()]
        assert len(mailbox_ids) == len(set(mailbox_ids))
        assert all(lk.crm_id == cid for cid, lk in self.links.items())

    def check_links(self) -> None:
        """After a settled sync every link joins a live in-scope row and the item stamped with its id."""
        for cid, lk in self.links.items():
            assert cid in self.crm and self.in_scope[cid], f"link to a missing/out-of-scope row {cid}"
            item = self.mbx[lk.mailbox_id]
            assert item["@crmid"] == cid and item["@linkstate"] == 2
            assert lk.base is not None, "a relinked pair must end its group with UpdateBase"

    @invariant()
    def no_record_twice_in_the_mailbox(self) -> None:
        claims = [i["@crmid"] for i in self.mbx.values() if i.get("@crmid")]
        assert len(claims) == len(set(claims)), f"duplicates: {sorted(claims)}"


class ContactsMachine(PlannerMachine):
    fixed_kind = Kind.CONTACTS


class AppointmentsMachine(PlannerMachine):
    fixed_kind = Kind.APPOINTMENTS


class TasksMachine(PlannerMachine):
    fixed_kind = Kind.TASKS


_PROFILE = settings.get_profile(os.environ.get("D365SYNC_HYPOTHESIS_PROFILE", "ci"))
TestContactsMachine = ContactsMachine.TestCase
TestAppointmentsMachine = AppointmentsMachine.TestCase
TestTasksMachine = TasksMachine.TestCase
for _case in (TestContactsMachine, TestAppointmentsMachine, TestTasksMachine):
    _case.settings = _PROFILE
del _case


@pytest.mark.slow
def test_planner_machine_soak() -> None:
    """The same machine, much longer (``pytest -m slow``)."""
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(PlannerMachine, settings=settings.get_profile("soak"))
