"""The foundation's command line end to end: a real sandbox, the real CLI in subprocesses, two profiles."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import CliResult, run_cli
from wizard.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), ews=False) as box:
        yield box


@pytest.fixture
def info(sandbox: Sandbox) -> dict[str, Any]:
    return sandbox.port_info()


def _add(home: Path, info: dict[str, Any], url: str, user: int = 0, *extra: str) -> CliResult:
    u = info["users"][user]
    return run_cli(
        home,
        "orgs", "add", url, "--ca-file", info["ca_file"], "--username", u["upn"], "--password-stdin", *extra,
        stdin=u["password"] + "\n",
    )  # fmt: skip


def _mailbox_row(sandbox: Sandbox, unique_name: str, user_index: int = 0) -> dict[str, Any]:
    env = sandbox.environment(unique_name)
    user = sandbox.directory.users[user_index]
    systemuserid = user.systemuserid(env.org)
    rows = [r for r in env.store.rows("mailboxes") if r.get("_regardingobjectid_value") == systemuserid]
    assert len(rows) == 1
    return dict(rows[0])


def _set_flags(sandbox: Sandbox, unique_name: str, value: bool) -> None:
    env = sandbox.environment(unique_name)
    row = _mailbox_row(sandbox, unique_name)
    env.store.update(
        "mailboxes",
        row["mailboxid"],
        {
            "isactsyncorgflagset": value,
            "orgmarkedasprimaryforexchangesync": value,
            "exchangesyncstatexml": None,
        },
    )


def test_version(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.startswith("d365sync ")


def test_no_command_is_usage(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "orgs").returncode == 2


def test_orgs_add_set_sync_and_flags(tmp_path: Path, sandbox: Sandbox, info: dict[str, Any]) -> None:
    _set_flags(sandbox, "contososales", False)
    _set_flags(sandbox, "contosotest", True)  # stale flag from another client: must be cleared
    home = tmp_path / "a"
    sales, test = info["environments"][0]["url"], info["environments"][1]["url"]

    first = _add(home, info, sales)
    assert first.returncode == 0, first.stderr
    assert "synchronizing organization" in first.stdout
    second = _add(home, info, test, 0, "--no-sync")
    assert second.returncode == 0, second.stderr

    listed = run_cli(home, "orgs", "list", "--json").json()
    assert [o["name"] for o in listed["organizations"]] == ["Contoso Sales", "Contoso Test"]
    sales_id, test_id = (o["id"] for o in listed["organizations"])
    assert listed["sync_org_id"] == sales_id
    assert _mailbox_row(sandbox, "contososales")["isactsyncorgflagset"] is True

    # Changing the synchronizing organization asks; without a terminal and --yes it refuses.
    refused = run_cli(home, "orgs", "set-sync", test_id)
    assert refused.returncode == 1
    assert "stays Contoso Sales" in refused.stderr
    assert run_cli(home, "orgs", "list", "--json").json()["sync_org_id"] == sales_id

    changed = run_cli(home, "orgs", "set-sync", test_id, "--yes")
    assert changed.returncode == 0, changed.stderr
    assert run_cli(home, "orgs", "list", "--json").json()["sync_org_id"] == test_id
    test_row, sales_row = _mailbox_row(sandbox, "contosotest"), _mailbox_row(sandbox, "contososales")
    assert test_row["isactsyncorgflagset"] is True
    assert test_row["orgmarkedasprimaryforexchangesync"] is True
    assert sales_row["isactsyncorgflagset"] is False
    assert sales_row["orgmarkedasprimaryforexchangesync"] is False

    human = run_cli(home, "orgs", "list")
    assert "● Contoso Test" in human.stdout

    removed = run_cli(home, "orgs", "remove", sales_id)
    assert removed.returncode == 0
    assert [o["id"] for o in run_cli(home, "orgs", "list", "--json").json()["organizations"]] == [test_id]


def test_instance_claim_on_two_computers(tmp_path: Path, sandbox: Sandbox, info: dict[str, Any]) -> None:
    _set_flags(sandbox, "contososales", False)
    sales = info["environments"][0]["url"]
    laptop, desktop = tmp_path / "laptop", tmp_path / "desktop"
    for home in (laptop, desktop):
        assert _add(home, info, sales).returncode == 0

    assert run_cli(laptop, "instance", "claim").returncode == 0
    shown = run_cli(laptop, "instance", "show", "--json").json()
    assert shown["claim"]["this_computer"] is True

    other = run_cli(desktop, "instance", "claim")
    assert other.returncode == 1
    assert "synchronizing client for Contoso Sales is" in other.stderr
    assert "since" in other.stderr
    seen_from_desktop = run_cli(desktop, "instance", "show", "--json").json()
    assert seen_from_desktop["claim"]["this_computer"] is False
    assert seen_from_desktop["claim"]["instance_id"] == shown["claim"]["instance_id"]

    taken = run_cli(desktop, "instance", "claim", "--yes")
    assert taken.returncode == 0, taken.stderr
    assert run_cli(laptop, "instance", "show", "--json").json()["claim"]["this_computer"] is False
    assert run_cli(desktop, "instance", "release").returncode == 0
    assert run_cli(laptop, "instance", "show", "--json").json()["claim"] is None


def test_nothing_configured_exits_3(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "instance", "show")
    assert result.returncode == 3
    assert "No organization is configured yet" in result.stderr and "orgs add URL" in result.stderr
    assert run_cli(tmp_path, "mailbox", "show").returncode == 3
    as_json = run_cli(tmp_path, "mailbox", "show", "--json")
    assert as_json.returncode == 3 and as_json.json() == {"mailbox": None}


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("not a url", "URL"),
        ("ftp://contoso.crm4.dynamics.com", "https"),
        ("http://contoso.crm4.dynamics.com", "https"),
    ],
)
def test_orgs_add_bad_url(tmp_path: Path, info: dict[str, Any], url: str, needle: str) -> None:
    result = _add(tmp_path, info, url)
    assert result.returncode == 1
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_orgs_add_wrong_password_is_clear_and_saves_nothing(tmp_path: Path, info: dict[str, Any]) -> None:
    u = info["users"][0]
    result = run_cli(
        tmp_path,
        "orgs", "add", info["dataverse_url"], "--ca-file", info["ca_file"], "--username", u["upn"], "--password-stdin",
        stdin="wrong-password\n",
    )  # fmt: skip
    assert result.returncode == 1
    assert "password" in result.stderr.lower()
    assert "wrong-password" not in result.stderr + result.stdout
    assert run_cli(tmp_path, "orgs", "list", "--json").json()["organizations"] == []


def test_orgs_add_unreachable(tmp_path: Path, info: dict[str, Any]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = _add(tmp_path, info, f"https://127.0.0.1:{port}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


def test_secrets_do_not_reach_profile_or_logs(tmp_path: Path, info: dict[str, Any]) -> None:
    assert _add(tmp_path, info, info["dataverse_url"]).returncode == 0
    password = info["users"][0]["password"]
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "test-keyring.json":
            data = path.read_bytes()
            assert password.encode() not in data, path
            # a refresh token as a value ("refresh_token": "…", also JSON inside JSON); the word alone is in
            # the authority's public OpenID configuration (grant_types_supported), which the authority cache keeps
            assert not re.search(rb'refresh_token\\?"\s*:', data), path
            assert b"RefreshToken" not in data, path  # MSAL's cache section, if the cache were in the clear
            assert b"eyJ" not in data, path


def test_sandbox_command_writes_port_file_and_stops_on_sigint(tmp_path: Path) -> None:
    port_file = tmp_path / "ports.json"
    env = dict(os.environ, D365SYNC_HOME=str(tmp_path / "home"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard", "sandbox", "--port-file", str(port_file), "--empty"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "no port file"
            time.sleep(0.05)
        info = json.loads(port_file.read_text())
        for key in ("dataverse_url", "discovery_url", "authority_url", "ca_file", "users"):
            assert key in info
        for user in info["users"]:
            assert {"upn", "password", "systemuserid", "access_token"} <= user.keys()
        import requests

        who = requests.get(
            info["dataverse_url"] + "/api/data/v9.2/WhoAmI",
            headers={
                "Authorization": f"Bearer {info['users'][0]['access_token']}",
                "Accept": "application/json",
            },
            verify=info["ca_file"],
            timeout=10,
        )
        assert who.status_code == 200
        assert who.json()["UserId"] == info["users"][0]["systemuserid"]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0


def test_demo_headless(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "demo", "--headless")
    assert result.returncode == 0, result.stderr
    assert "● Contoso Sales" in result.stdout
    assert "now the synchronizing client" in result.stdout
    assert "Bound as your primary mailbox" in result.stdout
    # the demo's profile is thrown away: nothing is left in the user's own home
    assert run_cli(tmp_path, "orgs", "list", "--json").json()["organizations"] == []
