"""`d365sync mailbox bind|test|show|unbind` against the stand-ins (EWS) and a real Dovecot (POP3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.autodiscover_soap import redirect_url
from tests.support.cli import CliResult, run_cli
from tests.support.dovecot import DovecotMailbox, dovecot, dovecot_server  # noqa: F401 (fixtures)
from tests.support.hostile import HostileServer, hostile, hostile_ca  # noqa: F401 (fixtures)
from wizard.mailbox.ews import EwsAuth, EwsSettings, EwsStore
from wizard.mailbox.ews.autodiscover import AUTODISCOVER_PATH
from wizard.sandbox import Sandbox

MISMATCH = (
    "To track emails and perform synchronization, your Outlook email address should be the same as your "
    "email address in Microsoft Dynamics 365 apps."
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as box:
        yield box


@pytest.fixture
def info(sandbox: Sandbox) -> dict[str, Any]:
    return sandbox.port_info()


def _mailbox_row(sandbox: Sandbox, user_index: int, org: str = "contososales") -> dict[str, Any]:
    env = sandbox.environment(org)
    systemuserid = sandbox.directory.users[user_index].systemuserid(env.org)
    (row,) = [r for r in env.store.rows("mailboxes") if r.get("_regardingobjectid_value") == systemuserid]
    return dict(row)


@pytest.fixture(autouse=True)
def _unbound_records(sandbox: Sandbox) -> None:
    """Every test starts from mailbox records that nobody has bound."""
    env = sandbox.environment("contososales")
    for index, user in enumerate(sandbox.directory.users):
        if not user.member_of(env.org):
            continue
        row = _mailbox_row(sandbox, index)
        env.store.update(
            "mailboxes",
            row["mailboxid"],
            {
                "emailaddress": user.primary_email,
                "incomingemaildeliverymethod": 0,
                "outgoingemaildeliverymethod": 0,
                "actdeliverymethod": 2,
            },
        )


def _add_org(home: Path, info: dict[str, Any], user: int) -> None:
    u = info["users"][user]
    result = run_cli(
        home,
        "orgs", "add", info["dataverse_url"], "--ca-file", info["ca_file"], "--username", u["upn"], "--password-stdin",
        stdin=u["password"] + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def _bind_exchange(home: Path, info: dict[str, Any], address: str, password: str) -> CliResult:
    return run_cli(
        home,
        "mailbox", "bind", address, "--auth", "basic", "--autodiscover-url", info["autodiscover_url"],
        "--ca-file", info["ca_file"], "--password-stdin",
        stdin=password + "\n",
    )  # fmt: skip


def test_bind_exchange_by_autodiscover_test_show_unbind(
    tmp_path: Path, sandbox: Sandbox, info: dict[str, Any]
) -> None:
    anna = info["users"][0]
    _add_org(tmp_path, info, 0)
    bound = _bind_exchange(tmp_path, info, anna["primary_email"], anna["ews_password"])
    assert bound.returncode == 0, bound.stderr
    assert "found by Autodiscover" in bound.stdout

    shown = run_cli(tmp_path, "mailbox", "show", "--json").json()["mailbox"]
    assert shown["kind"] == "exchange"
    assert shown["ews_url"] == info["ews_url"]
    assert shown["autodiscovered"] is True
    assert "password" not in str(shown).lower()

    row = _mailbox_row(sandbox, 0)
    assert (
        row["incomingemaildeliverymethod"],
        row["outgoingemaildeliverymethod"],
        row["actdeliverymethod"],
    ) == (1, 1, 0)
    assert row["emailaddress"] == anna["primary_email"]

    # the synchronizing organization is stamped on the mailbox root folder, as server-side sync does
    org_id = run_cli(tmp_path, "orgs", "list", "--json").json()["sync_org_id"]
    settings = EwsSettings(
        address=anna["primary_email"], ews_url=info["ews_url"], auth=EwsAuth.BASIC, ca_file=info["ca_file"]
    )
    with EwsStore(settings, password=anna["ews_password"]) as store:
        assert store.root_sync_org() == org_id

    assert run_cli(tmp_path, "mailbox", "test").returncode == 0

    second = _bind_exchange(tmp_path, info, info["users"][1]["primary_email"], "whatever")
    assert second.returncode == 1
    assert "only one mailbox" in second.stderr

    assert run_cli(tmp_path, "mailbox", "unbind").returncode == 1  # asks; no terminal
    assert run_cli(tmp_path, "mailbox", "unbind", "--yes").returncode == 0
    assert _mailbox_row(sandbox, 0)["incomingemaildeliverymethod"] == 0
    assert run_cli(tmp_path, "mailbox", "show").returncode == 3


def test_address_must_be_the_primary_email(tmp_path: Path, sandbox: Sandbox, info: dict[str, Any]) -> None:
    nancy = info["users"][3]
    assert nancy["upn"] != nancy["primary_email"]
    _add_org(tmp_path, info, 3)
    result = _bind_exchange(tmp_path, info, nancy["upn"], nancy["ews_password"])
    assert result.returncode == 1
    assert MISMATCH in result.stderr
    assert nancy["primary_email"] in result.stderr
    assert run_cli(tmp_path, "mailbox", "show", "--json").json() == {"mailbox": None}
    assert _mailbox_row(sandbox, 3)["incomingemaildeliverymethod"] == 0


def test_address_bound_to_another_user_is_refused(
    tmp_path: Path, sandbox: Sandbox, info: dict[str, Any]
) -> None:
    ben = info["users"][2]
    env = sandbox.environment("contososales")
    joerg_row = _mailbox_row(sandbox, 1)
    env.store.update(
        "mailboxes",
        joerg_row["mailboxid"],
        {"emailaddress": ben["primary_email"], "incomingemaildeliverymethod": 1},
    )
    _add_org(tmp_path, info, 2)
    result = _bind_exchange(tmp_path, info, ben["primary_email"], ben["ews_password"])
    assert result.returncode == 1
    assert "Jörg Bär" in result.stderr
    assert _mailbox_row(sandbox, 2)["incomingemaildeliverymethod"] == 0


def test_wrong_mailbox_password_binds_nothing(tmp_path: Path, sandbox: Sandbox, info: dict[str, Any]) -> None:
    anna = info["users"][0]
    _add_org(tmp_path, info, 0)
    result = _bind_exchange(tmp_path, info, anna["primary_email"], "not-the-password")
    assert result.returncode == 1
    assert "not-the-password" not in result.stderr
    assert "Traceback" not in result.stderr
    assert run_cli(tmp_path, "mailbox", "show", "--json").json() == {"mailbox": None}
    assert _mailbox_row(sandbox, 0)["incomingemaildeliverymethod"] == 0


@pytest.mark.dovecot
def test_bind_pop3_against_dovecot(
    tmp_path: Path,
    sandbox: Sandbox,
    info: dict[str, Any],
    dovecot: DovecotMailbox,  # noqa: F811
) -> None:
    anna = info["users"][0]
    _add_org(tmp_path, info, 0)
    result = run_cli(
        tmp_path,
        "mailbox", "bind", anna["primary_email"], "--kind", "pop3", "--username", dovecot.username,
        "--pop3-host", "127.0.0.1", "--pop3-port", str(dovecot.server.pop3s_port), "--pop3-tls", "ssl",
        "--ca-file", str(dovecot.server.ca_file), "--password-stdin",
        stdin=dovecot.password + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    row = _mailbox_row(sandbox, 0)
    assert (
        row["incomingemaildeliverymethod"],
        row["outgoingemaildeliverymethod"],
        row["actdeliverymethod"],
    ) == (1, 1, 2)
    shown = run_cli(tmp_path, "mailbox", "show", "--json").json()["mailbox"]
    assert shown["kind"] == "pop3"
    assert shown["pop3_port"] == dovecot.server.pop3s_port
    assert run_cli(tmp_path, "mailbox", "test").returncode == 0


def test_bind_exchange_online_and_sync_through_graph(
    tmp_path: Path, sandbox: Sandbox, info: dict[str, Any]
) -> None:
    """Exchange Online: no mailbox password, the organization's sign-in gets a Graph token silently."""
    anna = info["users"][0]
    _add_org(tmp_path, info, 0)
    bound = run_cli(
        tmp_path,
        "mailbox", "bind", anna["primary_email"], "--kind", "exchange_online",
        "--graph-url", info["graph_url"], "--ca-file", info["ca_file"],
    )  # fmt: skip
    assert bound.returncode == 0, bound.stderr
    assert f"Microsoft Graph: {info['graph_url']}" in bound.stdout
    shown = run_cli(tmp_path, "mailbox", "show", "--json").json()["mailbox"]
    assert (shown["kind"], shown["graph_url"], shown["auth"]) == (
        "exchange_online",
        info["graph_url"],
        "oauth2",
    )
    row = _mailbox_row(sandbox, 0)
    assert (row["incomingemaildeliverymethod"], row["outgoingemaildeliverymethod"]) == (1, 1)
    assert run_cli(tmp_path, "mailbox", "test").returncode == 0

    assert run_cli(tmp_path, "instance", "claim").returncode == 0
    synced = run_cli(tmp_path, "sync", "--once", "--kind", "contacts", "--kind", "tasks", "--json")
    assert synced.returncode == 0, synced.stderr
    status = run_cli(tmp_path, "status", "--json").json()
    assert status["mailbox"] == {"address": anna["primary_email"], "kind": "exchange_online"}
    kinds = {k["kind"]: k for k in status["kinds"]}
    assert kinds["contacts"]["status"] == kinds["tasks"]["status"] == "ok"
    assert run_cli(tmp_path, "mailbox", "unbind", "--yes").returncode == 0


def test_exchange_online_refuses_someone_elses_address(
    tmp_path: Path, sandbox: Sandbox, info: dict[str, Any]
) -> None:
    """Signed in as Anna, Jörg's Exchange Online mailbox is not hers: refused before anything is bound."""
    _add_org(tmp_path, info, 0)
    other = info["users"][1]["primary_email"]
    result = run_cli(
        tmp_path,
        "mailbox", "bind", other, "--kind", "exchange_online", "--graph-url", info["graph_url"],
        "--ca-file", info["ca_file"],
    )  # fmt: skip
    assert result.returncode == 1
    assert run_cli(tmp_path, "mailbox", "show").returncode == 3


def test_an_address_that_differs_only_in_letter_case_is_the_primary_email(
    tmp_path: Path, sandbox: Sandbox, info: dict[str, Any]
) -> None:
    anna = info["users"][0]
    _add_org(tmp_path, info, 0)
    typed = anna["primary_email"].title()  # Anna.Schmidt@Contoso.Com
    assert typed != anna["primary_email"]
    bound = _bind_exchange(tmp_path, info, typed, anna["ews_password"])
    assert bound.returncode == 0, bound.stderr
    assert _mailbox_row(sandbox, 0)["incomingemaildeliverymethod"] == 1


def test_a_look_alike_address_is_refused_and_binds_nothing(
    tmp_path: Path, sandbox: Sandbox, info: dict[str, Any]
) -> None:
    anna = info["users"][0]
    _add_org(tmp_path, info, 0)
    local, _, domain = anna["primary_email"].partition("@")
    look_alike = f"{local}@{domain.replace('s', 'ſ', 1)}"  # U+017F, which casefold() turned into s
    result = _bind_exchange(tmp_path, info, look_alike, anna["ews_password"])
    assert result.returncode == 1
    assert "stand for other characters" in result.stderr
    assert "Traceback" not in result.stderr
    assert run_cli(tmp_path, "mailbox", "show", "--json").json() == {"mailbox": None}
    assert _mailbox_row(sandbox, 0)["incomingemaildeliverymethod"] == 0


def test_bind_refuses_an_autodiscover_redirect_to_another_host_unless_allowed(
    tmp_path: Path,
    sandbox: Sandbox,
    info: dict[str, Any],
    hostile: HostileServer,  # noqa: F811
) -> None:
    """Issue 11 item 3: the Autodiscover URL the user gave redirects to a server outside the address's domain
    (the stand-in at 127.0.0.1): nothing goes there without --allow-redirect, and with it the bind works."""
    anna = info["users"][0]
    _add_org(tmp_path, info, 0)
    hostile.on("POST", AUTODISCOVER_PATH, redirect_url(info["autodiscover_url"]))
    ca_file = tmp_path / "both-cas.pem"
    ca_file.write_bytes(Path(info["ca_file"]).read_bytes() + hostile.ca_file.read_bytes())
    given = f"https://localhost:{hostile.port}{AUTODISCOVER_PATH}"
    args = ["mailbox", "bind", anna["primary_email"], "--auth", "basic", "--autodiscover-url", given]
    args += ["--ca-file", str(ca_file), "--password-stdin"]

    refused = run_cli(tmp_path, *args, stdin=anna["ews_password"] + "\n")
    assert refused.returncode != 0
    assert "127.0.0.1" in refused.stderr and "--allow-redirect 127.0.0.1" in refused.stderr
    assert run_cli(tmp_path, "mailbox", "show", "--json").json()["mailbox"] is None

    bound = run_cli(tmp_path, *args, "--allow-redirect", "127.0.0.1", stdin=anna["ews_password"] + "\n")
    assert bound.returncode == 0, bound.stderr
    shown = run_cli(tmp_path, "mailbox", "show", "--json").json()["mailbox"]
    assert shown["ews_url"] == info["ews_url"] and shown["autodiscover_redirects"] == ["127.0.0.1"]
