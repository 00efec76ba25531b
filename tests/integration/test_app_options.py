"""wizard.app.options against the Dataverse stand-in, without Qt: read what to synchronize, create the default
filters, and write the user's choice (filter states, usersettings, the profile's sync options)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wizard.app.options import OptionsChoice, apply_options, create_default_filters, load_options
from wizard.paths import locations
from wizard.sandbox import Sandbox
from wizard.services import Services
from wizard.settings.enums import ConflictPolicy


@pytest.fixture
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as box:
        yield box


@pytest.fixture
def services(sandbox: Sandbox, isolated_home: Path) -> Services:
    info = sandbox.port_info()
    user = info["users"][0]
    services = Services(locations().ensure())
    connected = services.connect_org(
        info["dataverse_url"], username=user["upn"], password=user["password"], ca_file=info["ca_file"]
    )
    services.save_org(connected)
    return services


def _user_settings(sandbox: Sandbox, services: Services) -> dict[str, Any]:
    user_id = services.require_sync_org().user_id
    rows = sandbox.environment("contososales").store.rows("usersettingscollection")
    (row,) = [r for r in rows if str(r.get("systemuserid", "")).lower() == user_id.lower()]
    return dict(row)


def test_load_reads_the_organization_and_the_users_settings(services: Services) -> None:
    state = load_options(services)
    assert state.org_name == services.require_sync_org().display_name
    assert (state.tracking, state.interval, state.min_interval) == (2, 15, 15)  # the stand-in's defaults
    assert state.sync == services.profile.sync and state.sync is not services.profile.sync  # a copy


def test_default_filters_are_created_once(services: Services) -> None:
    before = {q.id for q in load_options(services).filters}
    created = create_default_filters(services)
    if not before:
        assert {q.returnedtypecode for q in created} == {"contact", "appointment", "task"}
    assert all(q.querytype == 256 for q in created)
    assert [q.id for q in create_default_filters(services)] == [q.id for q in created]  # nothing new
    assert {q.id for q in load_options(services).filters} == {q.id for q in created}


def test_apply_writes_the_filters_the_settings_and_the_profile(sandbox: Sandbox, services: Services) -> None:
    filters = create_default_filters(services)
    task_filter = next(q for q in filters if q.returnedtypecode == "task")
    sync = load_options(services).sync
    sync.conflict_policy["contacts"] = ConflictPolicy.NEWEST_WINS
    apply_options(
        services,
        OptionsChoice(sync=sync, tracking=3, interval=30, filter_active={task_filter.id: False}),
    )
    assert services.profile.sync.conflict_policy["contacts"] == "newest_wins"
    assert services.profile.sync is not sync  # taken as a copy
    settings = _user_settings(sandbox, services)
    assert (settings["incomingemailfilteringmethod"], settings["outlooksyncinterval"]) == (3, 30)
    state = load_options(services)
    assert {q.returnedtypecode: q.active for q in state.filters}["task"] is False
    assert (state.tracking, state.interval) == (3, 30)


def test_apply_without_changes_leaves_the_server_alone(sandbox: Sandbox, services: Services) -> None:
    before = _user_settings(sandbox, services)
    sync = load_options(services).sync
    sync.interval_minutes = 45
    apply_options(services, OptionsChoice(sync=sync))  # tracking None, interval None: not written
    assert _user_settings(sandbox, services) == before
    assert services.profile.sync.interval_minutes == 45
