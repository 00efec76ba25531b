"""The planner's rules: creates, merges, the delete table, scope, relinking and the mass-delete guard."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from wizard.settings.enums import Kind
from wizard.sync.model import Direction, Fields, Link
from wizard.sync.planner import (
    CreateInCrm,
    CreateInMailbox,
    CrmChanges,
    DeleteInCrm,
    DeleteInMailbox,
    ForgetLink,
    MailboxChanges,
    MassDelete,
    Operation,
    Plan,
    RecordConflict,
    Relink,
    Rules,
    Unlink,
    UpdateBase,
    UpdateCrm,
    UpdateMailbox,
    crm_delete_propagates,
    lookups,
    plan,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DIRS = {"subject": Direction.BOTH, "description": Direction.BOTH, "private": Direction.NONE}
FUTURE, PAST = "2026-12-01T10:00:00Z", "2026-11-01T10:00:00Z"


def rules(**kw: Any) -> Rules:
    return Rules(directions=kw.pop("directions", DIRS), now=NOW, **kw)


def link(cid: str = "c1", mid: str = "m1", kind: Kind = Kind.CONTACTS, **base: Any) -> Link:
    b: Fields = {"subject": "s", "description": "d", **base}
    return Link(kind, cid, mid, b)


def links(*items: Link) -> dict[str, Link]:
    return {lk.crm_id: lk for lk in items}


def run(
    kind: Kind = Kind.CONTACTS,
    lks: dict[str, Link] | None = None,
    crm: CrmChanges | None = None,
    mbx: MailboxChanges | None = None,
    **kw: Any,
) -> Plan:
    return plan(kind, lks or {}, crm or CrmChanges(), mbx or MailboxChanges(), rules(**kw))


def ops_of(p: Plan, t: type) -> list[Any]:
    return [op for op in p.operations if isinstance(op, t)]


def types(p: Plan) -> list[str]:
    return [type(op).__name__ for op in p.operations]


# ------------------------------------------------------------------------------------------ creates


def test_nothing_changed_plans_nothing() -> None:
    assert run(lks=links(link())).operations == ()


def test_new_crm_row_in_scope_is_created_in_the_mailbox_without_none_fields() -> None:
    p = run(crm=CrmChanges(changed={"c9": {"subject": "x", "private": "p", "@owned_by_me": True}}))
    (op,) = p.operations
    assert isinstance(op, CreateInMailbox) and op.crm_id == "c9"
    assert op.fields == {"subject": "x", "description": None}
    assert op.base["@owned_by_me"] is True and op.base["subject"] == "x"


def test_tracked_mailbox_item_is_created_in_crm() -> None:
    mbx = MailboxChanges(
        changed={
            "m7": {"subject": "pending", "@linkstate": 1},
            "m8": {"subject": "category", "@tracked": True},
            "m9": {"subject": "not tracked"},
            "m10": {"subject": "untracked again", "@linkstate": 0},
        }
    )
    p = run(mbx=mbx)
    assert [op.mailbox_id for op in ops_of(p, CreateInCrm)] == ["m7", "m8"]
    assert types(p) == ["CreateInCrm", "CreateInCrm"]
    assert ops_of(p, CreateInCrm)[0].base["@owned_by_me"] is True


def test_deleted_ids_without_a_link_are_ignored() -> None:
    assert run(crm=CrmChanges(deleted={"cx"}), mbx=MailboxChanges(deleted={"mx"})).operations == ()


# ------------------------------------------------------------------------------------------- merges


def test_edit_in_crm_updates_the_mailbox_then_commits_the_base() -> None:
    p = run(lks=links(link()), crm=CrmChanges(changed={"c1": {"subject": "new", "description": "d"}}))
    assert types(p) == ["UpdateMailbox", "UpdateBase"]
    assert p.operations[0] == UpdateMailbox("c1", "m1", {"subject": "new"})
    assert p.operations[1] == UpdateBase("c1", "m1", {"subject": "new", "description": "d"})


def test_edit_in_mailbox_updates_crm() -> None:
    p = run(lks=links(link()), mbx=MailboxChanges(changed={"m1": {"subject": "s", "description": "mine"}}))
    assert p.operations[0] == UpdateCrm("c1", "m1", {"description": "mine"})


def test_echo_of_our_own_write_plans_nothing() -> None:
    p = run(
        lks=links(link()),
        crm=CrmChanges(changed={"c1": {"subject": "s", "description": "d", "@modified": "x"}}),
    )
    assert p.operations == ()


def test_metadata_change_only_updates_the_base() -> None:
    row = {"subject": "s", "description": "d", "@owned_by_me": False}
    p = run(lks=links(link(**Fields({"@owned_by_me": True}))), crm=CrmChanges(changed={"c1": row}))
    assert types(p) == ["UpdateBase"] and p.operations[0].base["@owned_by_me"] is False  # type: ignore[union-attr]


def test_conflict_is_recorded_before_the_writes() -> None:
    p = run(
        lks=links(link()),
        crm=CrmChanges(changed={"c1": {"subject": "crm", "description": "d"}}),
        mbx=MailboxChanges(changed={"m1": {"subject": "mbx", "description": "d"}}),
    )
    assert types(p) == ["RecordConflict", "UpdateMailbox", "UpdateBase"]
    rc = p.operations[0]
    assert isinstance(rc, RecordConflict) and rc.conflict.mailbox == "mbx" and rc.policy == "crm_wins"


def test_ask_policy_records_and_writes_nothing_for_the_field() -> None:
    p = run(
        lks=links(link()),
        crm=CrmChanges(changed={"c1": {"subject": "crm", "description": "d"}}),
        mbx=MailboxChanges(changed={"m1": {"subject": "mbx", "description": "d"}}),
        policy="ask",
    )
    assert types(p) == ["RecordConflict", "UpdateBase"]  # no write; the base remembers what is undecided
    assert not p.operations[0].conflict.resolved  # type: ignore[union-attr]
    base = p.operations[1].base  # type: ignore[union-attr]
    assert base["subject"] == "s" and base["@unresolved"] == {"subject": ["crm", "mbx"]}


def test_conflicts_name_their_record() -> None:
    """The conflict log names the record (Item 10 of issue 12): a contact by its name, others by subject."""
    both = {"subject": "s", "description": "d", "firstname": "Jörg", "lastname": "Bär"}
    contact = run(
        lks=links(link()),
        crm=CrmChanges(changed={"c1": {**both, "subject": "crm"}}),
        mbx=MailboxChanges(changed={"m1": {**both, "subject": "mbx"}}),
        policy="ask",
    )
    assert ops_of(contact, RecordConflict)[0].conflict.item == "Jörg Bär"
    task = run(
        Kind.TASKS,
        links(link(kind=Kind.TASKS)),
        crm=CrmChanges(changed={"c1": {"subject": "Call back", "description": "crm"}}),
        mbx=MailboxChanges(changed={"m1": {"subject": "Call back", "description": "mbx"}}),
    )
    assert ops_of(task, RecordConflict)[0].conflict.item == "Call back"
    gone = run(
        Kind.TASKS,
        links(link(kind=Kind.TASKS)),
        crm=CrmChanges(changed={"c1": {"subject": "Call back today", "description": "d"}}),
        mbx=MailboxChanges(deleted={"m1"}),
    )
    assert ops_of(gone, RecordConflict)[0].conflict.item == "Call back today"


def test_undecided_field_is_not_overwritten_by_a_later_one_sided_run() -> None:
    base = {"subject": "s", "description": "d", "@unresolved": {"subject": ["crm", "mbx"]}}
    lk = links(Link(Kind.CONTACTS, "c1", "m1", base))
    later = MailboxChanges(changed={"m1": {"subject": "mbx", "description": "new"}})
    p = run(lks=lk, mbx=later, policy="ask")
    assert p.operations[1:] == (
        UpdateCrm("c1", "m1", {"description": "new"}),
        UpdateBase("c1", "m1", {**base, "description": "new"}),
    )
    p = run(lks=lk, mbx=later, policy="mailbox_wins")  # decided now: recorded, CRM's value kept in the log
    rc = ops_of(p, RecordConflict)[0]
    assert rc.conflict.crm == "crm" and ops_of(p, UpdateCrm)[0].changes == {
        "subject": "mbx",
        "description": "new",
    }
    assert "@unresolved" not in ops_of(p, UpdateBase)[0].base


# ------------------------------------------------------------------------------- the delete table (B.9)


@pytest.mark.parametrize(("owned", "expected"), [(True, Unlink), (False, DeleteInMailbox), (None, Unlink)])
def test_contact_deleted_in_crm(owned: bool | None, expected: type[Unlink | DeleteInMailbox]) -> None:
    meta: Fields = {} if owned is None else {"@owned_by_me": owned}
    p = run(Kind.CONTACTS, links(link(**meta)), crm=CrmChanges(deleted={"c1"}))
    (op,) = p.operations
    assert isinstance(op, expected) and op.crm_id == "c1" and op.mailbox_id == "m1"


def test_contact_deleted_in_mailbox_forgets_the_link_and_never_deletes_in_crm() -> None:
    p = run(Kind.CONTACTS, links(link()), mbx=MailboxChanges(deleted={"m1"}))
    assert p.operations == (ForgetLink("c1", "m1", p.operations[0].reason),)  # type: ignore[union-attr]
    assert not ops_of(p, DeleteInCrm) and not ops_of(p, CreateInMailbox)


def test_contact_deleted_in_mailbox_but_edited_in_crm_comes_back() -> None:
    p = run(
        Kind.CONTACTS,
        links(link()),
        crm=CrmChanges(changed={"c1": {"subject": "edited", "description": "d"}}),
        mbx=MailboxChanges(deleted={"m1"}),
    )
    assert types(p) == ["ForgetLink", "CreateInMailbox"]
    assert p.operations[1].fields["subject"] == "edited"  # type: ignore[union-attr]


def test_contact_deleted_in_mailbox_unchanged_crm_echo_does_not_come_back() -> None:
    p = run(Kind.CONTACTS, links(link()), crm=CrmChanges(changed={"c1": {"subject": "s", "description": "d"}}),
            mbx=MailboxChanges(deleted={"m1"}))  # fmt: skip
    assert types(p) == ["ForgetLink"]


@pytest.mark.parametrize("kind", ["appointments", "tasks"])
def test_appointment_and_task_deleted_in_mailbox_delete_in_crm(kind: Kind) -> None:
    p = run(kind, links(link(kind=kind)), mbx=MailboxChanges(deleted={"m1"}))
    assert types(p) == ["DeleteInCrm"]


@pytest.mark.parametrize("kind", ["appointments", "tasks"])
def test_delete_in_mailbox_beats_a_crm_edit_and_records_the_edit(kind: Kind) -> None:
    p = run(kind, links(link(kind=kind)), crm=CrmChanges(changed={"c1": {"subject": "e", "description": "d"}}),
            mbx=MailboxChanges(deleted={"m1"}))  # fmt: skip
    assert types(p) == ["RecordConflict", "DeleteInCrm"]
    c = p.operations[0].conflict  # type: ignore[union-attr]
    assert c.field == "*" and c.reason == "delete_vs_edit" and c.crm["subject"] == "e" and c.mailbox is None


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"@owned_by_me": True, "@end": FUTURE}, "DeleteInMailbox"),
        ({"@is_organizer": True, "@end": FUTURE}, "DeleteInMailbox"),
        ({"@owned_by_me": True, "@end": "2026-11-25T12:00:00Z"}, "DeleteInMailbox"),  # ends now: present
        ({"@owned_by_me": True, "@end": None}, "DeleteInMailbox"),  # open-ended series
        ({"@owned_by_me": True, "@end": PAST}, "Unlink"),
        ({"@owned_by_me": False, "@is_organizer": False, "@end": FUTURE}, "Unlink"),
        ({"@end": FUTURE}, "Unlink"),
        ({"@owned_by_me": True, "@end": "not a date"}, "Unlink"),
    ],
)
def test_appointment_deleted_in_crm(meta: dict[str, Any], expected: str) -> None:
    p = run(Kind.APPOINTMENTS, links(link(kind=Kind.APPOINTMENTS, **meta)), crm=CrmChanges(deleted={"c1"}))
    assert types(p) == [expected]


def test_appointment_organizer_known_from_the_mailbox_side() -> None:
    p = run(
        Kind.APPOINTMENTS,
        links(link(kind=Kind.APPOINTMENTS, **{"@end": FUTURE})),
        crm=CrmChanges(deleted={"c1"}),
        mbx=MailboxChanges(
            changed={"m1": {"subject": "s", "description": "d", "@is_organizer": True, "@end": FUTURE}}
        ),
    )
    assert types(p) == ["DeleteInMailbox"]


@pytest.mark.parametrize(
    ("state", "expected"),
    [("open", "DeleteInMailbox"), ("completed", "Unlink"), ("canceled", "Unlink"), (None, "Unlink")],
)
def test_task_deleted_in_crm_deletes_only_current_tasks(state: str | None, expected: str) -> None:
    p = run(
        Kind.TASKS,
        links(link(kind=Kind.TASKS, **Fields({"@state": state, "@end": PAST}))),
        crm=CrmChanges(deleted={"c1"}),
    )
    assert types(p) == [expected]


def test_task_completed_in_the_mailbox_then_deleted_in_crm_is_kept() -> None:
    p = run(Kind.TASKS, links(link(kind=Kind.TASKS, **{"@state": "open"})), crm=CrmChanges(deleted={"c1"}),
            mbx=MailboxChanges(changed={"m1": {"subject": "s", "description": "d", "@state": "completed"}}))  # fmt: skip
    assert types(p) == ["Unlink"]


def test_crm_delete_beats_a_mailbox_edit_and_records_it() -> None:
    p = run(Kind.CONTACTS, links(link(**Fields({"@owned_by_me": False}))), crm=CrmChanges(deleted={"c1"}),
            mbx=MailboxChanges(changed={"m1": {"subject": "mine", "description": "d"}}))  # fmt: skip
    assert types(p) == ["RecordConflict", "DeleteInMailbox"]
    c = p.operations[0].conflict  # type: ignore[union-attr]
    assert c.mailbox["subject"] == "mine" and c.crm is None and c.winner == "crm"


def test_crm_delete_that_does_not_propagate_keeps_the_mailbox_edit() -> None:
    p = run(Kind.CONTACTS, links(link(**Fields({"@owned_by_me": True}))), crm=CrmChanges(deleted={"c1"}),
            mbx=MailboxChanges(changed={"m1": {"subject": "mine", "description": "d"}}))  # fmt: skip
    assert types(p) == ["Unlink"]


def test_deleted_on_both_sides_forgets_the_link() -> None:
    p = run(
        Kind.TASKS,
        links(link(kind=Kind.TASKS)),
        crm=CrmChanges(deleted={"c1"}),
        mbx=MailboxChanges(deleted={"m1"}),
    )
    assert types(p) == ["ForgetLink"]


def test_crm_delete_rule_table() -> None:
    assert crm_delete_propagates(Kind.CONTACTS, {"@owned_by_me": False}, NOW)
    assert not crm_delete_propagates(Kind.CONTACTS, {}, NOW)
    assert not crm_delete_propagates(Kind.TASKS, {"@state": "completed"}, NOW)


# ---------------------------------------------------------------------------------------------- scope


@pytest.mark.parametrize("kind", ["contacts", "appointments", "tasks"])
def test_leaving_scope_unlinks_never_deletes(kind: Kind) -> None:
    p = run(kind, links(link(kind=kind)), crm=CrmChanges(out_of_scope={"c1"}),
            mbx=MailboxChanges(changed={"m1": {"subject": "edited", "description": "d"}}))  # fmt: skip
    assert types(p) == ["Unlink"]


def test_leaving_scope_beats_a_mailbox_delete() -> None:
    p = run(
        Kind.TASKS,
        links(link(kind=Kind.TASKS)),
        crm=CrmChanges(out_of_scope={"c1"}),
        mbx=MailboxChanges(deleted={"m1"}),
    )
    assert types(p) == ["ForgetLink"]


def test_crm_full_resync_unlinks_rows_not_listed() -> None:
    p = run(lks=links(link(), link("c2", "m2")),
            crm=CrmChanges(changed={"c2": {"subject": "s", "description": "d"}}, full_resync=True))  # fmt: skip
    assert p.operations == (Unlink("c1", "m1", "left the sync filter"),)


def test_out_of_scope_crm_row_without_link_is_not_created() -> None:
    p = run(crm=CrmChanges(changed={"c5": {"subject": "x"}}, out_of_scope={"c5"}))
    assert p.operations == ()


# ------------------------------------------------------------------------------------------ relinking


def test_mailbox_full_resync_relinks_by_crmid_instead_of_duplicating() -> None:
    crm = CrmChanges(changed={"c1": {"subject": "s", "description": "d"}}, full_resync=True)
    mbx = MailboxChanges(changed={"m1": {"subject": "s", "description": "d", "@crmid": "c1", "@linkstate": 2}},
                         full_resync=True)  # fmt: skip
    p = run(crm=crm, mbx=mbx)
    assert types(p) == ["Relink", "UpdateBase"]
    assert p.operations[0] == Relink("c1", "m1")
    assert not ops_of(p, CreateInMailbox) and not ops_of(p, DeleteInCrm) and not ops_of(p, DeleteInMailbox)


def test_relink_without_base_records_differences_as_conflicts() -> None:
    crm = CrmChanges(changed={"c1": {"subject": "crm", "description": "d"}})
    mbx = MailboxChanges(
        changed={"m1": {"subject": "mbx", "description": "d", "@crmid": "c1", "@linkstate": 2}}
    )
    p = run(crm=crm, mbx=mbx, policy="mailbox_wins")
    assert types(p) == ["Relink", "RecordConflict", "UpdateCrm", "UpdateBase"]
    assert p.operations[1].conflict.reason == "no_base"  # type: ignore[union-attr]


def test_unlinked_orphan_relinks_when_its_record_comes_back_into_scope() -> None:
    crm = CrmChanges(changed={"c1": {"subject": "s", "description": "d"}})
    mbx = MailboxChanges(
        changed={"m1": {"subject": "s", "description": "d", "@crmid": "c1", "@linkstate": 0}}
    )
    assert types(run(crm=crm, mbx=mbx)) == ["Relink", "UpdateBase"]


def test_unlinked_orphan_alone_is_left_alone() -> None:
    mbx = MailboxChanges(changed={"m1": {"subject": "s", "@crmid": "c1", "@linkstate": 0, "@tracked": True}})
    assert run(mbx=mbx).operations == ()


def test_a_copy_of_a_linked_item_is_unlinked_not_linked_twice() -> None:
    mbx = MailboxChanges(changed={"m2": {"subject": "s", "@crmid": "c1", "@linkstate": 2}})
    p = run(lks=links(link()), mbx=mbx)
    assert p.operations == (Unlink(None, "m2", p.operations[0].reason),)  # type: ignore[union-attr]


def test_claim_on_a_record_out_of_scope_is_unlinked() -> None:
    mbx = MailboxChanges(changed={"m2": {"subject": "s", "@crmid": "c3", "@linkstate": 2}}, full_resync=True)
    p = run(crm=CrmChanges(full_resync=True), mbx=mbx)
    assert types(p) == ["Unlink"] and p.operations[0].mailbox_id == "m2"  # type: ignore[union-attr]


def test_lookups_name_what_relinking_needs() -> None:
    lk = links(link())
    crm = CrmChanges(changed={"c1": {}, "c2": {}, "c3": {}})
    mbx = MailboxChanges(changed={"m3": {"@crmid": "c3", "@linkstate": 0}, "m4": {"@crmid": "c4", "@linkstate": 2},
                                  "m5": {"@crmid": "c5", "@linkstate": 0}})  # fmt: skip
    found = lookups(lk, crm, mbx)
    assert found.mailbox_items_for == ("c2",)  # c1 linked, c3 already seen
    assert found.crm_rows == ("c4",)  # c5 is an orphan (state 0)
    assert (
        lookups(
            lk, CrmChanges(changed={"c2": {}}, full_resync=True), MailboxChanges(full_resync=True)
        ).crm_rows
        == ()
    )
    assert (
        lookups(lk, CrmChanges(changed={"c2": {}}), MailboxChanges(full_resync=True)).mailbox_items_for == ()
    )


def test_unknown_claim_waits_for_the_lookup() -> None:
    mbx = MailboxChanges(changed={"m4": {"subject": "s", "@crmid": "c4", "@linkstate": 2}})
    assert run(mbx=mbx).operations == ()


def test_mailbox_full_resync_never_deletes_what_it_did_not_see() -> None:
    lks = links(*(link(f"c{i}", f"m{i}", Kind.TASKS) for i in range(30)))
    p = run(Kind.TASKS, lks, mbx=MailboxChanges(changed={}, full_resync=True))
    assert p.operations == ()


# --------------------------------------------------------------------------------- mass-delete guard


def _many(n: int, kind: Kind = Kind.TASKS) -> dict[str, Link]:
    return links(*(link(f"c{i:02}", f"m{i:02}", kind, **{"@state": "open"}) for i in range(n)))


def test_mass_delete_stops_and_asks() -> None:
    lks = _many(40)
    mbx = MailboxChanges(deleted={f"m{i:02}" for i in range(11)})
    crm = CrmChanges(changed={"cnew": {"subject": "n"}})
    p = run(Kind.TASKS, lks, crm, mbx)
    assert p.operations == () and p.needs_confirmation == MassDelete(11, 0, 40, 40)


def test_mass_delete_needs_both_thresholds() -> None:
    assert (
        run(
            Kind.TASKS, _many(40), mbx=MailboxChanges(deleted={f"m{i:02}" for i in range(10)})
        ).needs_confirmation
        is None
    )
    gone = MailboxChanges(deleted={f"m{i:02}" for i in range(11)})
    assert (
        run(Kind.TASKS, _many(40), CrmChanges(total=100), gone).needs_confirmation is None
    )  # 11 of 100 CRM rows
    crm_side = CrmChanges(deleted={f"c{i:02}" for i in range(12)})
    p = run(Kind.TASKS, _many(20), crm=crm_side)
    assert p.needs_confirmation == MassDelete(0, 12, 20, 20)


def test_mass_delete_forced() -> None:
    p = run(Kind.TASKS, _many(40), mbx=MailboxChanges(deleted={f"m{i:02}" for i in range(11)}), force=True)
    assert len(ops_of(p, DeleteInCrm)) == 11 and p.needs_confirmation is None


def test_mass_delete_declined_keeps_everything() -> None:
    crm = CrmChanges(changed={f"c{i:02}": {"subject": "e", "description": "d"} for i in range(11)})
    p = run(
        Kind.TASKS,
        _many(40),
        crm,
        MailboxChanges(deleted={f"m{i:02}" for i in range(11)}),
        decline_deletes=True,
    )
    assert not ops_of(p, DeleteInCrm) and not ops_of(p, RecordConflict)
    assert len(ops_of(p, ForgetLink)) == 11
    p = run(Kind.TASKS, _many(40), CrmChanges(deleted={f"c{i:02}" for i in range(11)}), decline_deletes=True)
    assert len(ops_of(p, Unlink)) == 11 and not ops_of(p, DeleteInMailbox)


# -------------------------------------------------------------------------------------- determinism


def test_plan_order_is_deterministic() -> None:
    crm_rows = {f"c{i}": {"subject": f"x{i}"} for i in (5, 3, 9)}
    mbx_rows = {f"n{i}": {"subject": f"y{i}", "@tracked": True} for i in (2, 8, 1)}
    a = run(crm=CrmChanges(changed=crm_rows), mbx=MailboxChanges(changed=mbx_rows))
    b = run(crm=CrmChanges(changed=dict(reversed(crm_rows.items()))),
            mbx=MailboxChanges(changed=dict(reversed(mbx_rows.items()))))  # fmt: skip
    assert a == b
    ids = [op.crm_id if isinstance(op, CreateInMailbox) else op.mailbox_id for op in a.operations]
    assert ids == ["c3", "c5", "c9", "n1", "n2", "n8"]
    assert a.counts() == {"CreateInMailbox": 3, "CreateInCrm": 3}


def test_groups_of_one_pair_are_consecutive() -> None:
    lks = links(link("a", "ma"), link("b", "mb"))
    crm = CrmChanges(
        changed={"a": {"subject": "1", "description": "d"}, "b": {"subject": "2", "description": "d"}}
    )
    p = run(lks=lks, crm=crm)
    seen: list[str] = []
    for op in p.operations:
        key: str = op.crm_id  # type: ignore[union-attr,assignment]
        if not seen or seen[-1] != key:
            assert key not in seen
            seen.append(key)
    assert seen == ["a", "b"]


def _unused(_: Operation) -> None:  # keeps the Operation alias imported for type checkers
    return None
