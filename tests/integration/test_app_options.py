"""wizard.app.options against the Dataverse stand-in, without Qt: read what to synchronize, create the default
filters, and write the user's choice (filter states, usersettings, the profile's sync options)."""

from __future__ import annotations

from typing import Any

import pytest

from wizard.app.factory import Factory
from wizard.app.options import OptionsChoice, apply_options, create_default_filters, load_options
from wizard.sandbox import Sandbox
from wizard.settings.enums import ConflictPolicy


@pytest.fixture
def factory(signed_in_factory: Factory) -> Factory:
    return signed_in_factory


def _user_settings(sandbox: Sandbox, factory: Factory) -> dict[str, Any]:
    user_id = factory.require_sync_org().user_id
    rows = sandbox.environment("contososales").store.rows("usersettingscollection")
    (row,) = [r for r in rows if str(r.get("systemuserid", "")).lower() == user_id.lower()]
    return dict(row)


def test_load_reads_the_organization_and_the_users_settings(factory: Factory) -> None:
    state = load_options(factory)
    assert state.org_name == factory.require_sync_org().display_name
    assert (state.tracking, state.interval, state.min_interval) == (2, 15, 15)  # the stand-in's defaults
    assert state.sync == factory.profile.sync and state.sync is not factory.profile.sync  # a copy


def test_default_filters_are_created_once(factory: Factory) -> None:
    before = {q.id for q in load_options(factory).filters}
    created = create_default_filters(factory)
    if not before:
        assert {q.returnedtypecode for q in created} == {"contact", "appointment", "task"}
    assert all(q.querytype == 256 for q in created)
    assert [q.id for q in create_default_filters(factory)] == [q.id for q in created]  # nothing new
    assert {q.id for q in load_options(factory).filters} == {q.id for q in created}


def test_apply_writes_the_filters_the_settings_and_the_profile(sandbox: Sandbox, factory: Factory) -> None:
    filters = create_default_filters(factory)
    task_filter = next(q for q in filters if q.returnedtypecode == "task")
    sync = load_options(factory).sync
    sync.conflict_policy["contacts"] = ConflictPolicy.NEWEST_WINS
    apply_options(
        factory,
        OptionsChoice(sync=sync, tracking=3, interval=30, filter_active={task_filter.id: False}),
    )
    assert factory.profile.sync.conflict_policy["contacts"] == "newest_wins"
    assert factory.profile.sync is not sync  # taken as a copy
    settings = _user_settings(sandbox, factory)
    assert (settings["incomingemailfilteringmethod"], settings["outlooksyncinterval"]) == (3, 30)
    state = load_options(factory)
    assert {q.returnedtypecode: q.active for q in state.filters}["task"] is False
    assert (state.tracking, state.interval) == (3, 30)


def test_apply_without_changes_leaves_the_server_alone(sandbox: Sandbox, factory: Factory) -> None:
    before = _user_settings(sandbox, factory)
    sync = load_options(factory).sync
    sync.interval_minutes = 45
    apply_options(factory, OptionsChoice(sync=sync))  # tracking None, interval None: not written
    assert _user_settings(sandbox, factory) == before
    assert factory.profile.sync.interval_minutes == 45
