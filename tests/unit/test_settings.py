from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from wizard.paths import locations
from wizard.settings import (
    SCHEMA_VERSION,
    MailboxBinding,
    OrgProfile,
    Profile,
    ProfileError,
    SyncOptions,
    load_profile,
    save_profile,
)
from wizard.settings import store as store_module
from wizard.settings.enums import DEFAULT_POLICY, RECORD_KINDS, ConflictPolicy, Kind


def _org(org_id: str = "11111111-1111-1111-1111-111111111111") -> OrgProfile:
    return OrgProfile(
        id=org_id,
        display_name="Contoso Sales",
        web_url="https://contoso.crm4.dynamics.com",
        api_url="https://contoso.api.crm4.dynamics.com",
        username="anna.schmidt@contoso.com",
    )


def test_locations_follow_d365sync_home(isolated_home: Path) -> None:
    where = locations()
    assert where.profile_file.is_relative_to(isolated_home)
    assert where.state_db.is_relative_to(isolated_home)
    assert where.log_file.is_relative_to(isolated_home)
    assert locations(isolated_home / "other").config_dir == (isolated_home / "other" / "config").resolve()


def test_locations_without_home_use_platform_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("D365SYNC_HOME")
    where = locations()
    assert "d365sync" in str(where.config_dir)


def test_missing_file_gives_new_profile_with_instance_id(tmp_path: Path) -> None:
    profile = load_profile(tmp_path / "profile.json")
    assert profile.organizations == []
    assert len(profile.instance_id) == 36


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    profile = Profile()
    profile.organizations.append(_org())
    profile.sync_org_id = profile.organizations[0].id
    profile.mailbox = MailboxBinding(address="anna.schmidt@contoso.com", kind="exchange")
    profile.sync.field_directions = {"contacts": {"jobtitle": 1}}
    save_profile(path, profile)
    again = load_profile(path)
    assert again == profile
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "config"
    path = folder / "profile.json"
    save_profile(path, Profile(instance_id="a"))
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)  # the store reaches os.replace through its module
    with pytest.raises(OSError):
        save_profile(path, Profile(instance_id="b"))
    assert path.read_bytes() == before
    assert [p.name for p in folder.iterdir()] == ["profile.json"]


def test_corrupted_file_is_a_clear_error_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text('{"schema_version": 1, "organizations": [', encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert "damaged" in info.value.user_text
    assert str(path) in info.value.user_text
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"schema_version": 1, "organizations": "x"}, "$.organizations"),
        ({"schema_version": 1, "organizations": [{"id": 5}]}, "$.organizations[0]"),
        ({"schema_version": 1, "sync_org_id": "nope"}, "$.sync_org_id"),
        ({"schema_version": 1, "sync": {"conflict_policy": {"contacts": "coin toss"}}}, "conflict_policy"),
        ({"schema_version": 1, "sync": {"field_directions": {"contacts": {"x": 7}}}}, "field_directions"),
        ({"schema_version": 1, "mailbox": {"address": "a@b.c", "kind": "imap"}}, "$.mailbox.kind"),
    ],
)
def test_invalid_values_name_the_place(tmp_path: Path, document: dict[str, object], where: str) -> None:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert where in info.value.user_text


def test_newer_version_is_refused_not_reset(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, "organizations": []}), encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert "newer d365sync" in info.value.user_text
    assert path.read_bytes() == before


def test_upgrade_ladder_runs_in_order_and_backs_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def step(n: int) -> Callable[[dict[str, object]], dict[str, object]]:
        def upgrade(data: dict[str, object]) -> dict[str, object]:
            calls.append(n)
            return {**data, f"step{n}": True}

        return upgrade

    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(store_module, "UPGRADES", {0: step(0), 1: step(1), 2: step(2)})
    path = tmp_path / "profile.json"
    original = {"schema_version": 1, "instance_id": "keep-me", "organizations": []}
    path.write_text(json.dumps(original), encoding="utf-8")
    profile = load_profile(path)
    assert calls == [1, 2]
    assert profile.instance_id == "keep-me"
    backups = list(tmp_path.glob("profile.json.v1.*.bak"))
    assert len(backups) == 1
    assert json.loads(backups[0].read_text()) == original
    assert json.loads(path.read_text())["schema_version"] == 3


def test_unversioned_file_is_upgraded_with_a_new_instance_id(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text(
        json.dumps({"organizations": [json.loads(json.dumps(_org().__dict__))]}), encoding="utf-8"
    )
    profile = load_profile(path)
    assert profile.organizations[0].display_name == "Contoso Sales"
    assert profile.instance_id
    assert json.loads(path.read_text())["instance_id"] == profile.instance_id
    assert list(tmp_path.glob("profile.json.v0.*.bak"))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text("{}", encoding="utf-8")
    path.chmod(0)
    with pytest.raises(ProfileError):
        load_profile(path)


def test_policy_for_a_kind_defaults_when_unset() -> None:
    options = SyncOptions(conflict_policy={"contacts": "newest_wins"})
    assert options.policy_for(Kind.CONTACTS) is ConflictPolicy.NEWEST_WINS
    assert options.policy_for(Kind.TASKS) is DEFAULT_POLICY
    assert SyncOptions().policy_for(Kind.APPOINTMENTS) is DEFAULT_POLICY


def test_set_policy_writes_every_record_kind_in_the_stored_format(tmp_path: Path) -> None:
    profile = Profile()
    profile.sync.conflict_policy = {"contacts": "ask"}
    profile.sync.set_policy(ConflictPolicy.MAILBOX_WINS)
    assert all(profile.sync.policy_for(kind) is ConflictPolicy.MAILBOX_WINS for kind in RECORD_KINDS)
    path = tmp_path / "profile.json"
    save_profile(path, profile)
    stored = json.loads(path.read_text())["sync"]["conflict_policy"]
    assert stored == {"contacts": "mailbox_wins", "appointments": "mailbox_wins", "tasks": "mailbox_wins"}
    assert load_profile(path).sync.policy_for("tasks") is ConflictPolicy.MAILBOX_WINS


def test_concurrent_requests_default_round_trip_and_bounds(tmp_path: Path) -> None:
    """sync.concurrent_requests (issue 15 item 2): 4 by default, kept across a save, 1 to 16 only."""
    path = tmp_path / "profile.json"
    profile = Profile()
    assert profile.sync.concurrent_requests == 4
    profile.sync.concurrent_requests = 1
    save_profile(path, profile)
    assert load_profile(path).sync.concurrent_requests == 1
    for bad in (0, 17, True, "4"):
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["sync"]["concurrent_requests"] = bad
        path.write_text(json.dumps(raw), encoding="utf-8")
        with pytest.raises(ProfileError, match="concurrent_requests"):
            load_profile(path)
