"""No usable keyring: ``orgs add`` and ``mailbox bind`` refuse before anything is saved (issue 12 item 1, issue 11
item 2). The real CLI in subprocesses against the stand-ins, with keyring's ``fail`` backend and keyrings.alt's
``PlaintextKeyring`` (which the product refuses unless the user opts in)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import CliResult, run_cli
from wizard.sandbox import Sandbox

pytest.importorskip("keyrings.alt.file")

FAIL = "keyring.backends.fail.Keyring"
PLAINTEXT = "keyrings.alt.file.PlaintextKeyring"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False, graph=False) as box:
        yield box


@pytest.fixture
def info(sandbox: Sandbox) -> dict[str, Any]:
    return sandbox.port_info()


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where a file keyring would write (keyring's data root), inside the test's folder."""
    root = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(root))
    return root


def _as_a_user_with(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    """The CLI's keyring is ``backend``, without the suite's opt-in for keyrings that store in clear."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", backend)
    monkeypatch.delenv("D365SYNC_ALLOW_INSECURE_KEYRING", raising=False)


def _add(home: Path, info: dict[str, Any], *extra: str) -> CliResult:
    u = info["users"][0]
    return run_cli(
        home,
        "orgs", "add", info["dataverse_url"], "--ca-file", info["ca_file"], "--username", u["upn"],
        "--password-stdin", *extra,
        stdin=u["password"] + "\n",
    )  # fmt: skip


def _files(folder: Path) -> list[str]:
    return (
        sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        if folder.exists()
        else []
    )


def _assert_refused(result: CliResult, *, clear: bool) -> None:
    assert result.returncode != 0, result.stdout
    assert "Added" not in result.stdout and "Bound" not in result.stdout
    assert "nothing was saved" in result.stderr
    assert "GNOME Keyring or KWallet" in result.stderr
    assert "d365sync[headless]" in result.stderr
    assert "No password is stored" not in result.stderr
    assert "expired" not in result.stderr
    assert "Traceback" not in result.stderr
    if clear:
        assert "unencrypted on disk" in result.stderr
        assert "D365SYNC_ALLOW_INSECURE_KEYRING=plaintext-on-disk" in result.stderr


@pytest.mark.parametrize("backend", [FAIL, PLAINTEXT], ids=["fail", "plaintext"])
def test_orgs_add_online_refuses_and_saves_nothing(
    tmp_path: Path, info: dict[str, Any], data_root: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    home = tmp_path / "home"
    _as_a_user_with(monkeypatch, backend)
    result = _add(home, info)
    _assert_refused(result, clear=backend == PLAINTEXT)
    assert not (home / "config" / "profile.json").exists()
    assert not [name for name in _files(home) if "token" in name or "keyring" in name], _files(home)
    assert _files(data_root) == []  # no keyring_pass.cfg with the tokens in it
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    assert run_cli(home, "orgs", "list", "--json").json()["organizations"] == []


@pytest.mark.parametrize("backend", [FAIL, PLAINTEXT], ids=["fail", "plaintext"])
def test_orgs_add_on_premises_refuses_and_saves_nothing(
    tmp_path: Path, info: dict[str, Any], data_root: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    home = tmp_path / "home"
    anna = info["users"][0]
    _as_a_user_with(monkeypatch, backend)
    result = run_cli(
        home,
        "orgs", "add", info["onprem"]["url"], "--auth", "ntlm", "--username", anna["ntlm_username"],
        "--ca-file", info["ca_file"], "--password-stdin",
        stdin=anna["password"] + "\n",
    )  # fmt: skip
    _assert_refused(result, clear=backend == PLAINTEXT)
    assert not (home / "config" / "profile.json").exists()
    assert _files(data_root) == []


def _record(sandbox: Sandbox) -> dict[str, Any]:
    env = sandbox.environment("contososales")
    systemuserid = sandbox.directory.users[0].systemuserid(env.org)
    (row,) = [r for r in env.store.rows("mailboxes") if r.get("_regardingobjectid_value") == systemuserid]
    return dict(row)


@pytest.mark.parametrize("backend", [FAIL, PLAINTEXT], ids=["fail", "plaintext"])
def test_mailbox_bind_refuses_and_changes_nothing(
    tmp_path: Path,
    sandbox: Sandbox,
    info: dict[str, Any],
    data_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    home = tmp_path / "home"
    added = _add(home, info)  # with the suite's keyring
    assert added.returncode == 0, added.stderr
    profile_before = (home / "config" / "profile.json").read_bytes()
    record_before = _record(sandbox)
    anna = info["users"][0]
    _as_a_user_with(monkeypatch, backend)
    result = run_cli(
        home,
        "mailbox", "bind", anna["primary_email"], "--auth", "basic", "--autodiscover-url", info["autodiscover_url"],
        "--ca-file", info["ca_file"], "--password-stdin",
        stdin=anna["ews_password"] + "\n",
    )  # fmt: skip
    _assert_refused(result, clear=backend == PLAINTEXT)
    assert (home / "config" / "profile.json").read_bytes() == profile_before
    assert _record(sandbox) == record_before  # the mailbox record's delivery methods untouched
    assert _files(data_root) == []
