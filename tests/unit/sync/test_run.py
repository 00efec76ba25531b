"""The run's vocabulary: the options a run takes from the profile once, and statuses equal to their strings."""

from __future__ import annotations

import json

from wizard.settings.enums import DEFAULT_POLICY, ConflictPolicy, Kind
from wizard.settings.profile import MailboxBinding, Profile
from wizard.sync.run import KindResult, KindRunStatus, RunOptions, RunStatus


def test_the_options_are_the_profiles_choices_per_kind() -> None:
    profile = Profile()
    profile.sync.conflict_policy = {Kind.CONTACTS: "mailbox_wins"}
    profile.sync.field_directions = {Kind.TASKS: {"subject": 1}}
    profile.sync.sync_all_addresses = True
    profile.sync.send_email = False
    profile.mailbox = MailboxBinding(address="anna@example.com", kind="exchange")
    options = RunOptions.from_profile(profile)
    assert options.policy(Kind.CONTACTS) is ConflictPolicy.MAILBOX_WINS
    assert options.policy(Kind.APPOINTMENTS) is DEFAULT_POLICY  # not chosen: the one default
    assert options.directions(Kind.TASKS) == {"subject": 1} and options.directions(Kind.CONTACTS) is None
    assert options.sync_all_addresses and not options.send_email
    assert options.mailbox_address == "anna@example.com"
    profile.sync.send_email = True  # built once: a later change of the profile does not reach a run
    assert not options.send_email


def test_statuses_equal_the_strings_the_faces_and_the_json_use() -> None:
    assert KindRunStatus.NEEDS_CONFIRMATION == "needs_confirmation"  # type: ignore[comparison-overlap]  # mypy compares the member name, not its value (python/mypy#19576)
    assert RunStatus.NOT_SYNC_COMPUTER == "not_sync_computer"  # type: ignore[comparison-overlap]  # mypy compares the member name, not its value (python/mypy#19576)
    assert KindResult("tasks").status == "ok"
    assert json.dumps({"status": RunStatus.PARTIAL}) == '{"status": "partial"}'
