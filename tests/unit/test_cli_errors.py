"""The command line's failures: a sentence on standard error, never a traceback, the documented exit codes.

Issue 11 items 12 and 13 (folders that cannot be made, a log folder that cannot be written, damaged settings, bad
arguments, a state DB that cannot be used, a full disk) and issue 12 item 13 (what the CLI says with nothing
configured, exit codes, JSON). The tests run as root, which chmod does not stop: a file in a folder's place,
/dev/full and injected OS errors stand in for a read-only folder and a full disk.
"""

from __future__ import annotations

import argparse
import errno
import io
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import CliResult, run_cli
from wizard import cli, logging_setup
from wizard.app.factory import Factory
from wizard.app.orgs import ConnectedOrg
from wizard.app.schedule import ServerIntervals
from wizard.cli import failures, orgs, sync
from wizard.cli.main import build_parser
from wizard.paths import Locations, locations
from wizard.settings import OrgProfile, Profile, load_profile, save_profile
from wizard.sync.run import KindCounts, KindResult, RunStatus, RunSummary
from wizard.sync.state import StateDB

ORG_ID = "0f3b7c2e-1a2b-4c3d-8e9f-0123456789ab"


def _clean(result: CliResult) -> CliResult:
    assert "Traceback" not in result.stderr + result.stdout
    assert "unexpected error" not in result.stderr
    assert "--- Logging error ---" not in result.stderr
    return result


@pytest.fixture
def fresh_logging() -> Iterator[None]:
    """Let ``logging_setup.configure`` run in this process again; the root logger is restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configured = getattr(root, "_d365sync_configured", False)
    root._d365sync_configured = False  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
        root._d365sync_configured = configured  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def quiet_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs leave the process's logging as it is (configured once per process): a console handler
    bound to one test's captured stderr would break the next test's."""
    monkeypatch.setattr(logging.getLogger(), "_d365sync_configured", True, raising=False)


def _org(org_id: str = ORG_ID, name: str = "Contoso Sales") -> OrgProfile:
    return OrgProfile(
        id=org_id,
        display_name=name,
        web_url="https://contoso.example",
        api_url="https://contoso.example",
        unique_name=name.lower().replace(" ", ""),
        username="anna@contoso.example",
    )


def _configured(home: Path, *, sync_org: bool = True) -> Locations:
    """A profile with one organization (the synchronizing one unless told otherwise), written without network."""
    where = locations(home).ensure()
    save_profile(
        where.profile_file, Profile(organizations=[_org()], sync_org_id=ORG_ID if sync_org else None)
    )
    return where


# ------------------------------------------------------------------ issue 11 item 12: the folders and the log


def test_home_that_is_a_file_is_a_sentence(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("not a folder")
    result = _clean(run_cli(home, "orgs", "list"))
    assert result.returncode == cli.EXIT_FAILURE
    assert "is a file, not a folder" in result.stderr and "D365SYNC_HOME" in result.stderr


@pytest.mark.parametrize("kind", ["120 KB", "symlink loop"])
def test_home_that_cannot_be_a_folder(tmp_path: Path, kind: str) -> None:
    if kind == "120 KB":
        home = tmp_path / ("x" * 120_000)
    else:
        (tmp_path / "one").symlink_to(tmp_path / "two")
        (tmp_path / "two").symlink_to(tmp_path / "one")
        home = tmp_path / "one" / "home"
    result = _clean(run_cli(home, "orgs", "list"))
    assert result.returncode == cli.EXIT_FAILURE
    assert "D365SYNC_HOME" in result.stderr and len(result.stderr) < 1000


def test_state_folder_that_is_a_file_is_a_sentence(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("")
    result = _clean(run_cli(tmp_path, "orgs", "list"))
    assert result.returncode == cli.EXIT_FAILURE
    assert f"{tmp_path / 'state'} is a file, but d365sync needs a folder there" in result.stderr


def test_logs_folder_that_is_a_file_does_not_stop_the_program(tmp_path: Path) -> None:
    (tmp_path / "logs").write_text("")
    result = _clean(run_cli(tmp_path, "orgs", "list", "--json"))
    assert result.returncode == cli.EXIT_OK
    assert result.json()["organizations"] == []
    (warning,) = result.stderr.splitlines()
    assert "log folder" in warning and "going on without a log file" in warning
    assert (tmp_path / "cache").is_dir()  # the folders after the log folder were made all the same


def test_home_not_writable_is_a_sentence(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Root writes anywhere, so the permission error is injected where the folders are made."""

    def denied(self: Locations) -> Locations:
        raise PermissionError(errno.EACCES, "Permission denied", str(self.config_dir))

    monkeypatch.setattr(Locations, "ensure", denied)
    assert cli.main(["orgs", "list"]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert "may not write to" in err and "permission denied" in err and "Traceback" not in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes to a read-only folder")
def test_home_not_writable_for_real(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        result = _clean(run_cli(tmp_path / "home", "orgs", "list"))
    finally:
        tmp_path.chmod(0o700)
    assert result.returncode == cli.EXIT_FAILURE and "permission denied" in result.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a disk that is always full)")
def test_full_disk_for_the_log_is_one_warning(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "d365sync.log").symlink_to("/dev/full")
    result = _clean(run_cli(tmp_path, "-v", "orgs", "set-sync", "nothing-here"))
    assert result.returncode == cli.EXIT_USAGE  # the command went on and said what it had to say
    warnings = [line for line in result.stderr.splitlines() if "cannot be written" in line]
    assert len(warnings) == 1 and "No space left on device" in warnings[0]
    assert "No configured organization has the id nothing-here" in result.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a disk that is always full)")
def test_safe_file_handler_stops_after_the_first_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "d365sync.log"
    target.symlink_to("/dev/full")
    handler = logging_setup.file_handler(target)
    assert handler is not None
    logger = logging.getLogger("test.full-disk")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for n in range(5):
            logger.warning("message %d", n)
    finally:
        logger.removeHandler(handler)
        handler.close()
    err = capsys.readouterr().err
    assert err.count("cannot be written") == 1 and "Logging error" not in err


def test_log_folder_that_cannot_be_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fresh_logging: None
) -> None:
    (tmp_path / "logs").write_text("")
    logging_setup.configure(locations(tmp_path), verbose=False)
    logging.getLogger("test.no-log-folder").warning("still shown")
    err = capsys.readouterr().err
    assert err.count("going on without a log file") == 1
    files = [h.baseFilename for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)]
    assert not any(name.startswith(str(tmp_path)) for name in files)


# ------------------------------------------------------------------ issue 11 item 13: clear messages


def test_profile_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    save_profile(profile, Profile(organizations=[_org()], sync_org_id=ORG_ID))
    profile.write_bytes(b"\xef\xbb\xbf" + profile.read_bytes())
    assert load_profile(profile).sync_org_id == ORG_ID


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b'{"schema_version": 1, "organizations": [], "instance_id": "caf\xe9"}', "is not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
    ids=["latin-1", "deeply-nested"],
)
def test_unreadable_profile_is_a_sentence(tmp_path: Path, content: bytes, needle: str) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "profile.json").write_bytes(content)
    result = _clean(run_cli(tmp_path, "orgs", "list"))
    assert result.returncode == cli.EXIT_FAILURE
    assert needle in result.stderr and "left as it is" in result.stderr
    assert (tmp_path / "config" / "profile.json").read_bytes() == content


def test_ca_file_that_does_not_exist(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = isolated_home / "no-such-ca.pem"
    assert cli.main(["orgs", "add", "https://contoso.example", "--ca-file", str(missing)]) == cli.EXIT_FAILURE
    assert f"The CA file {missing} (--ca-file) does not exist." in capsys.readouterr().err
    code = cli.main(["mailbox", "bind", "anna@contoso.example", "--ca-file", str(missing)])
    assert code == cli.EXIT_FAILURE
    assert "does not exist" in capsys.readouterr().err


def test_ca_file_gone_since_it_was_added() -> None:
    error = OSError("Could not find a suitable TLS CA certificate bundle, invalid path: /gone/ca.pem")
    text = failures.explain(error, None)
    assert text is not None and "The CA file /gone/ca.pem cannot be found" in text


def test_host_name_of_120_kb(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "a" * 120_000 + ".example"
    args = ["mailbox", "bind", "anna@contoso.example", "--kind", "pop3", "--pop3-host", name]
    assert cli.main(args) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert "(--pop3-host) is too long" in err and len(err) < 1000
    assert cli.main(["orgs", "add", f"https://{'b' * 30_000}.example"]) == cli.EXIT_FAILURE
    assert "(URL) is too long" in capsys.readouterr().err
    assert cli.main(["mailbox", "bind", f"anna@{name}"]) == cli.EXIT_FAILURE
    assert "(ADDRESS) is too long" in capsys.readouterr().err


def test_host_name_no_connection_accepts() -> None:
    location_parse_error = type("LocationParseError", (ValueError,), {})
    text = failures.explain(location_parse_error("label empty or too long"), None)
    assert text is not None and "too long" in text


def test_state_db_of_an_older_schema_that_cannot_be_upgraded(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A DB whose ``user_version`` says older than its tables are (copied back from a backup, edited): the
    upgrade fails; the command says which file and that it was left alone."""
    where = _configured(isolated_home)
    db_file = where.org_state_db(ORG_ID)
    db_file.parent.mkdir(parents=True)
    StateDB.open(db_file).close()
    with sqlite3.connect(db_file) as raw:
        raw.execute("PRAGMA user_version = 1")
    code = cli.main(["conflicts", "list"])
    err = capsys.readouterr().err
    assert "unexpected" not in err and "Traceback" not in err
    if code != cli.EXIT_OK:  # (a state DB that upgrades idempotently reads it: fine too)
        assert code == cli.EXIT_FAILURE and str(db_file.parent) in err and "nothing was changed" in err


@pytest.mark.parametrize(
    ("error", "needle"),
    [
        (sqlite3.OperationalError("attempt to write a readonly database"), "is read-only"),
        (sqlite3.OperationalError("database or disk is full"), "is full; nothing was changed"),
        (sqlite3.OperationalError("unable to open database file"), "cannot be opened"),
    ],
    ids=["read-only", "full", "unopenable"],
)
def test_state_db_that_cannot_be_written(
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: sqlite3.Error,
    needle: str,
) -> None:
    """An immutable DB or folder and a full disk, as SQLite reports them (root cannot be kept out by modes)."""
    where = _configured(isolated_home)
    where.org_state_db(ORG_ID).parent.mkdir(parents=True)
    StateDB.open(where.org_state_db(ORG_ID)).close()

    def failing(*args: Any, **kwargs: Any) -> StateDB:
        raise error

    monkeypatch.setattr(StateDB, "open", failing)
    assert cli.main(["conflicts", "list"]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert needle in err and str(where.org_state_db(ORG_ID)) in err and "unexpected" not in err


def test_full_disk_is_a_sentence(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def full(factory: Factory, args: argparse.Namespace) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(orgs, "cmd_orgs_list", full)
    assert cli.main(["orgs", "list"]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert f"The disk holding {isolated_home} is full" in err and "unexpected" not in err


def test_a_bug_is_still_unexpected() -> None:
    assert failures.explain(KeyError("x"), None) is None


# ------------------------------------------------------------------ issue 12 item 13: the CLI's words


@pytest.mark.parametrize(
    "command",
    [["status"], ["sync", "--once"], ["conflicts", "list"], ["instance", "show"], ["instance", "claim"]],
)
def test_no_organization_says_how_to_add_one(
    isolated_home: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    assert cli.main(command) == cli.EXIT_NOT_CONFIGURED
    err = capsys.readouterr().err
    assert "d365sync orgs add URL" in err and "set-sync" not in err


def test_organizations_but_none_synchronizes_says_choose_one(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _configured(isolated_home, sync_org=False)
    assert cli.main(["status"]) == cli.EXIT_NOT_CONFIGURED
    assert "d365sync orgs set-sync ID" in capsys.readouterr().err


def test_mailbox_show_exits_3_with_and_without_json(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["mailbox", "show"]) == cli.EXIT_NOT_CONFIGURED
    capsys.readouterr()
    assert cli.main(["mailbox", "show", "--json"]) == cli.EXIT_NOT_CONFIGURED
    assert json.loads(capsys.readouterr().out) == {"mailbox": None}


@pytest.mark.parametrize("command", [["orgs", "set-sync"], ["orgs", "remove"]])
def test_unknown_organization_is_a_usage_error(
    isolated_home: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    assert cli.main([*command, "no-such-org"]) == cli.EXIT_USAGE
    assert "none is configured" in capsys.readouterr().err
    _configured(isolated_home)
    assert cli.main([*command, "no-such-org"]) == cli.EXIT_USAGE
    assert "See: d365sync orgs list" in capsys.readouterr().err


def test_status_json_with_nothing_configured(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["status", "--json"]) == cli.EXIT_NOT_CONFIGURED
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["configured"] is False and "d365sync orgs add URL" in data["message"]
    assert data["problem"] == "no_organization"
    _configured(isolated_home, sync_org=False)
    assert cli.main(["status", "--json"]) == cli.EXIT_NOT_CONFIGURED
    data = json.loads(capsys.readouterr().out)
    assert data["configured"] is False and data["problem"] == "no_sync_org"
    assert "d365sync orgs set-sync ID" in data["message"]


def test_reporter_words_for_a_dry_run() -> None:
    stream = io.StringIO()
    reporter = sync.CliReporter(stream, dry_run=True)
    reporter.kind_finished(KindResult("email", KindCounts(created=1), KindCounts()))
    reporter.run_finished(RunSummary(None, None, None, RunStatus.DRY_RUN, [], []))  # type: ignore[arg-type]
    lines = stream.getvalue().splitlines()
    assert lines == [
        "email: would do — to Dynamics 365: 1 created; to the mailbox: nothing",
        "Dry run finished: nothing was changed.",
    ]
    assert "dry_run" not in stream.getvalue()


def test_reporter_words_for_a_run() -> None:
    stream = io.StringIO()
    sync.CliReporter(stream).run_finished(RunSummary(None, None, None, RunStatus.OK, [], []))  # type: ignore[arg-type]
    assert stream.getvalue() == "Synchronization finished.\n"


def test_no_desktop_is_said_before_the_usage(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert cli.main([]) == cli.EXIT_USAGE
    captured = capsys.readouterr()
    assert "no desktop was found" in captured.err and "orgs" in captured.out


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["orgs", "list"],
        ["instance", "show"],
        ["mailbox", "show"],
        ["conflicts", "list"],
        ["sync"],
    ],
)
def test_every_json_option_has_help(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*command, "--help"])
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if line.strip().startswith("--json")]
    assert "JSON" in line


def test_adding_an_organization_that_is_there_says_so(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    factory = Factory(locations().ensure())
    connected = ConnectedOrg(_org(), client=None)  # type: ignore[arg-type]  # not the first: no flags written
    orgs.save_and_show(factory, connected, make_sync_if_first=False)
    assert "Added Contoso Sales" in capsys.readouterr().out
    orgs.save_and_show(factory, connected, make_sync_if_first=False)
    out = capsys.readouterr().out
    assert "is already configured: nothing was added" in out and "Added" not in out
    assert len(factory.reload().organizations) == 1


@pytest.mark.parametrize(
    ("minutes", "server", "needle"),
    [
        (5, ServerIntervals(org_minimum=15), "allows no less than 15 minutes"),
        (5, None, "the usual minimum of 15 minutes applies"),
        (None, ServerIntervals(user_minutes=10, org_minimum=30), "interval of 10 minutes is too short"),
    ],
)
def test_an_interval_under_the_minimum_is_explained(
    minutes: int | None, server: ServerIntervals | None, needle: str
) -> None:
    note = sync.interval_note(minutes, server, "Contoso Sales")
    assert note is not None and needle in note and "Synchronizing every" in note


def test_an_interval_above_the_minimum_needs_no_words() -> None:
    assert sync.interval_note(45, ServerIntervals(org_minimum=15), "Contoso Sales") is None
    assert sync.interval_note(None, None, "Contoso Sales") is None
