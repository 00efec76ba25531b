"""The three-way merge, field by field, and the conflict policies."""

from __future__ import annotations

import pytest

from wizard.settings.enums import ConflictPolicy
from wizard.sync.merge import FieldConflict, canonical, merge, parse_time, same
from wizard.sync.model import Direction, content_hash

BOTH = {"subject": Direction.BOTH}


def test_nothing_changed_writes_nothing() -> None:
    r = merge({"subject": "a"}, {"subject": "a"}, {"subject": "a"}, BOTH)
    assert (r.to_crm, r.to_mailbox, r.conflicts) == ({}, {}, ())
    assert r.new_base == {"subject": "a"}
    assert not r.writes


def test_crm_change_flows_to_mailbox() -> None:
    r = merge({"subject": "a"}, {"subject": "b"}, {"subject": "a"}, BOTH)
    assert r.to_mailbox == {"subject": "b"} and r.to_crm == {}
    assert r.new_base == {"subject": "b"} and r.conflicts == ()


def test_mailbox_change_flows_to_crm() -> None:
    r = merge({"subject": "a"}, {"subject": "a"}, {"subject": "c"}, BOTH)
    assert r.to_crm == {"subject": "c"} and r.to_mailbox == {}
    assert r.new_base == {"subject": "c"}


def test_both_changed_to_the_same_value_writes_nothing() -> None:
    r = merge({"subject": "a"}, {"subject": "z"}, {"subject": "z"}, BOTH)
    assert not r.writes and r.conflicts == ()
    assert r.new_base == {"subject": "z"}


def test_conflict_crm_wins_by_default_and_keeps_the_losing_value() -> None:
    r = merge({"subject": "a"}, {"subject": "crm"}, {"subject": "mbx"}, BOTH)
    assert r.to_mailbox == {"subject": "crm"} and r.to_crm == {}
    assert r.conflicts == (FieldConflict("subject", "a", "crm", "mbx", "crm"),)
    assert r.conflicts[0].losing_value == "mbx" and r.conflicts[0].resolved


def test_conflict_mailbox_wins() -> None:
    r = merge({"subject": "a"}, {"subject": "crm"}, {"subject": "mbx"}, BOTH, ConflictPolicy.MAILBOX_WINS)
    assert r.to_crm == {"subject": "mbx"} and r.to_mailbox == {}
    assert r.new_base == {"subject": "mbx"}
    assert r.conflicts[0].winner == "mailbox" and r.conflicts[0].losing_value == "crm"


@pytest.mark.parametrize(
    ("crm_time", "mailbox_time", "winner"),
    [
        ("2026-11-25T10:00:00Z", "2026-11-25T11:00:00Z", "mailbox"),
        ("2026-11-25T12:00:00Z", "2026-11-25T11:00:00Z", "crm"),
        ("2026-11-25T11:00:00Z", "2026-11-25T11:00:00Z", "crm"),  # tie -> CRM
        (None, "2026-11-25T11:00:00Z", "crm"),  # unknown -> CRM
        ("2026-11-25T11:00:00Z", "garbage", "crm"),
    ],
)
def test_newest_wins(crm_time: str | None, mailbox_time: str, winner: str) -> None:
    r = merge(
        {"subject": "a"},
        {"subject": "crm"},
        {"subject": "mbx"},
        BOTH,
        ConflictPolicy.NEWEST_WINS,
        crm_modified=crm_time,
        mailbox_modified=mailbox_time,
    )
    assert r.conflicts[0].winner == winner
    expected = {"subject": "crm"} if winner == "crm" else {"subject": "mbx"}
    assert r.new_base == expected


def test_newest_wins_compares_instants_not_strings() -> None:
    # 12:30+01:00 is 11:30Z: newer than 11:00Z; instants count, not their text
    r = merge(
        {"s": "a"},
        {"s": "crm"},
        {"s": "mbx"},
        {"s": Direction.BOTH},
        ConflictPolicy.NEWEST_WINS,
        crm_modified="2026-11-25T11:00:00Z",
        mailbox_modified="2026-11-25T12:30:00+01:00",
    )
    assert r.conflicts[0].winner == "mailbox"


def test_ask_writes_nothing_and_records_an_unresolved_conflict() -> None:
    r = merge({"subject": "a", "x": 1}, {"subject": "crm", "x": 2}, {"subject": "mbx", "x": 1},
              {"subject": Direction.BOTH, "x": Direction.BOTH}, ConflictPolicy.ASK)  # fmt: skip
    assert r.to_crm == {} and r.to_mailbox == {"x": 2}  # other fields still merge
    assert r.new_base == {"subject": "a", "x": 2}  # base kept for the undecided field
    (c,) = r.conflicts
    assert c.winner is None and not c.resolved and (c.crm, c.mailbox, c.base) == ("crm", "mbx", "a")


def test_one_way_to_mailbox_field_edited_in_mailbox_is_overwritten_and_recorded() -> None:
    r = merge(
        {"jobtitle": "CEO"}, {"jobtitle": "CEO"}, {"jobtitle": "Boss"}, {"jobtitle": Direction.TO_MAILBOX}
    )
    assert r.to_mailbox == {"jobtitle": "CEO"} and r.to_crm == {}
    assert r.new_base == {"jobtitle": "CEO"}
    assert r.conflicts == (FieldConflict("jobtitle", "CEO", "CEO", "Boss", "crm", "one_way"),)


def test_one_way_to_crm_field_edited_in_crm_is_overwritten_from_the_mailbox() -> None:
    r = merge({"d": "x"}, {"d": "y"}, {"d": "x"}, {"d": Direction.TO_CRM})
    assert r.to_crm == {"d": "x"} and r.to_mailbox == {}
    assert r.conflicts[0].winner == "mailbox" and r.conflicts[0].losing_value == "y"


def test_one_way_fields_flow_their_way() -> None:
    dirs = {"a": Direction.TO_MAILBOX, "b": Direction.TO_CRM}
    r = merge({"a": 1, "b": 1}, {"a": 2, "b": 1}, {"a": 1, "b": 3}, dirs)
    assert r.to_mailbox == {"a": 2} and r.to_crm == {"b": 3} and r.conflicts == ()


@pytest.mark.parametrize("policy", ["crm_wins", "mailbox_wins", "newest_wins", "ask"])
def test_both_changed_one_way_field_follows_direction_not_policy(policy: str) -> None:
    r = merge({"a": 0}, {"a": 1}, {"a": 2}, {"a": Direction.TO_MAILBOX}, policy)  # type: ignore[arg-type]
    assert r.to_mailbox == {"a": 1} and r.conflicts[0].winner == "crm"
    r = merge({"a": 0}, {"a": 1}, {"a": 2}, {"a": Direction.TO_CRM}, policy)  # type: ignore[arg-type]
    assert r.to_crm == {"a": 2} and r.conflicts[0].winner == "mailbox"


def test_direction_none_fields_are_never_written_nor_kept_in_the_base() -> None:
    r = merge({"notes": "a"}, {"notes": "b"}, {"notes": "c"}, {"notes": Direction.NONE})
    assert not r.writes and r.conflicts == () and r.new_base == {}


def test_fields_without_a_direction_and_metadata_are_ignored() -> None:
    r = merge({}, {"@modified": "x", "other": 1}, {"@crmid": "y"}, {"@modified": Direction.BOTH})
    assert not r.writes and r.new_base == {}


def test_lists_compare_as_sorted_canonical_lists() -> None:
    a = [
        {"address": "a@x", "name": "A", "type": "required"},
        {"address": "b@x", "name": "B", "type": "optional"},
    ]
    b = list(reversed(a))
    dirs = {"attendees": Direction.BOTH}
    r = merge({"attendees": a}, {"attendees": b}, {"attendees": a}, dirs)
    assert not r.writes and r.conflicts == ()
    assert same(a, b) and canonical(a) == canonical(b)
    c = [*a, {"address": "c@x", "name": "C", "type": "required"}]
    r = merge({"attendees": a}, {"attendees": b}, {"attendees": c}, dirs)
    assert r.to_crm == {"attendees": canonical(c)}


def test_missing_and_none_are_the_same() -> None:
    r = merge({"a": None}, {}, {"a": None}, {"a": Direction.BOTH})
    assert not r.writes and r.conflicts == ()


def test_no_base_equal_values_agree_silently() -> None:
    r = merge(None, {"a": 1, "b": 2}, {"a": 1, "b": 2}, {"a": Direction.BOTH, "b": Direction.BOTH})
    assert not r.writes and r.conflicts == () and r.new_base == {"a": 1, "b": 2}


def test_no_base_differing_values_are_conflicts_by_policy() -> None:
    dirs = {"a": Direction.BOTH, "b": Direction.TO_CRM}
    r = merge(None, {"a": 1, "b": 1}, {"a": 2, "b": 2}, dirs, ConflictPolicy.MAILBOX_WINS)
    assert r.to_crm == {"a": 2, "b": 2}
    assert {c.reason for c in r.conflicts} == {"no_base"}
    r = merge(None, {"a": 1, "b": 1}, {"a": 2, "b": 2}, dirs, ConflictPolicy.CRM_WINS)
    assert r.to_mailbox == {"a": 1} and r.to_crm == {"b": 2}


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="policy"):
        merge({}, {}, {}, BOTH, "random")  # type: ignore[arg-type]


def test_parse_time() -> None:
    assert parse_time("2026-11-25T10:00:00Z") == parse_time("2026-11-25T11:00:00+01:00")
    assert parse_time("2026-11-25T10:00:00") is not None  # naive = UTC
    assert parse_time(None) is None and parse_time("nope") is None and parse_time(5) is None


def test_content_hash_ignores_metadata_and_key_order() -> None:
    assert content_hash({"a": 1, "b": [1], "@modified": "x"}) == content_hash({"b": [1], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})
