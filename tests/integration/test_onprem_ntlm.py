"""On premises end to end: the product's own Windows sign-in (requests_ntlm for Dynamics 365, exchangelib's NTLM
for Exchange) against the stand-ins' NTLM, through Factory like the wizard and the CLI use it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli
from wizard.app.factory import Factory
from wizard.app.mailbox import bind_mailbox
from wizard.app.orgs import ConnectedOrg, WindowsSignInRefused, connect_org, save_org
from wizard.crm.auth import AuthenticationError
from wizard.crm.discovery import NotDataverseError
from wizard.mailbox.base import AuthenticationFailed, FolderKind
from wizard.mailbox.ews import EwsAuth, EwsSettings, EwsStore
from wizard.paths import locations
from wizard.sandbox import Sandbox
from wizard.settings.profile import MailboxBinding

ANNA = "anna.schmidt@contoso.com"
ANNA_PASSWORD = "Sandbox-Anna-2026"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("onprem"), demo_data=False, graph=False) as box:
        yield box


@pytest.fixture(scope="module")
def info(sandbox: Sandbox) -> dict[str, Any]:
    return sandbox.port_info()


def _anna(info: dict[str, Any]) -> dict[str, Any]:
    return next(u for u in info["users"] if u["upn"] == ANNA)


def connect_onprem_as_anna(factory: Factory, info: dict[str, Any]) -> ConnectedOrg:
    """Anna's Windows (NTLM) sign-in to the stand-ins' on-premises organization, as the wizard makes it."""
    anna = _anna(info)
    return connect_org(
        factory,
        info["onprem"]["url"],
        auth_kind="ntlm",
        username=anna["ntlm_username"],
        password=anna["password"],
        ca_file=info["ca_file"],
    )


def test_port_file_names_the_onprem_environment(info: dict[str, Any]) -> None:
    onprem = info["onprem"]
    assert onprem["auth"] == "ntlm" and onprem["url"].endswith("/contosoonprem")
    assert onprem["url"] not in [e["url"] for e in info["environments"]]  # not in Global Discovery either
    assert _anna(info)["ntlm_username"] == "CONTOSO\\anna.schmidt"


@pytest.mark.parametrize("form", ["ntlm_username", "upn"])
def test_connect_org_with_windows_sign_in(
    isolated_home: Path, sandbox: Sandbox, info: dict[str, Any], form: str
) -> None:
    anna = _anna(info)
    factory = Factory(locations().ensure())
    signed_in_before = sandbox.onprem.server.ntlm_sign_ins
    connected = connect_org(
        factory,
        info["onprem"]["url"] + "/main.aspx",  # a pasted browser address keeps its org path segment
        auth_kind="ntlm",
        username=anna[form],
        password=anna["password"],
        ca_file=info["ca_file"],
    )
    org = connected.org
    assert org.display_name == "Contoso On-Premises" and org.unique_name == "contosoonprem"
    assert org.api_url == info["onprem"]["url"] and org.web_url == info["onprem"]["url"]
    assert org.user_id == sandbox.directory.user(ANNA).systemuserid(sandbox.onprem.org)  # type: ignore[union-attr]
    # A 9.1 server has no v9.2 Web API: v9.2 answers 404, v9.1 is used and kept (the profile's api_version).
    assert org.api_version == "v9.1" and connected.client.session.root.endswith("/api/data/v9.1/")
    # one handshake per version tried; WhoAmI and RetrieveCurrentOrganization share the v9.1 connection
    assert sandbox.onprem.server.ntlm_sign_ins == signed_in_before + 2

    save_org(factory, connected)  # the password goes to the keyring; the next client signs in with it
    again = factory.dataverse(factory.profile.org(org.id))  # type: ignore[arg-type]
    assert again.whoami().user_id == org.user_id


def test_paging_and_batch_through_the_org_path(
    isolated_home: Path, sandbox: Sandbox, info: dict[str, Any]
) -> None:
    """nextLinks and ``$batch`` part URLs carry ``/<org>`` on premises; the product's client follows them."""
    client = connect_onprem_as_anna(Factory(locations().ensure()), info).client
    members = [u for u in sandbox.directory.users if u.member_of(sandbox.onprem.org)]
    rows = list(client.query("systemusers", select=["domainname"], page_size=1))
    assert sorted(r["domainname"] for r in rows) == sorted(u.upn for u in members)
    results = client.create_many(
        [("contacts", {"lastname": "Onprem-1"}), ("contacts", {"lastname": "Onprem-2"})]
    )
    assert all(r.ok for r in results)
    names = {
        r["lastname"]
        for r in client.query("contacts", select=["lastname"], filter="startswith(lastname,'Onprem-')")
    }
    assert names == {"Onprem-1", "Onprem-2"}


def test_wrong_password_is_a_clear_sign_in_error(isolated_home: Path, info: dict[str, Any]) -> None:
    factory = Factory(locations().ensure())
    with pytest.raises(AuthenticationError) as caught:
        connect_org(
            factory,
            info["onprem"]["url"],
            auth_kind="ntlm",
            username="CONTOSO\\anna.schmidt",
            password="Wrong-Password-1",
            ca_file=info["ca_file"],
        )
    text = caught.value.user_text
    assert "did not accept the user name and password" in text and "DOMAIN\\user" in text
    assert "Wrong-Password-1" not in text + str(caught.value)


def test_online_sign_in_to_an_onprem_org_says_choose_windows_sign_in(
    isolated_home: Path, info: dict[str, Any]
) -> None:
    factory = Factory(locations().ensure())
    with pytest.raises(NotDataverseError) as caught:
        connect_org(
            factory, info["onprem"]["url"], username=ANNA, password=ANNA_PASSWORD, ca_file=info["ca_file"]
        )
    assert "Windows (NTLM)" in caught.value.user_text


def test_windows_sign_in_to_an_online_org_says_choose_microsoft_sign_in(
    isolated_home: Path, info: dict[str, Any]
) -> None:
    """The reverse mistake (issue 12 item 11): one sentence naming the fix, not "sign in again"."""
    factory = Factory(locations().ensure())
    with pytest.raises(WindowsSignInRefused) as caught:
        connect_org(
            factory,
            info["dataverse_url"],
            auth_kind="ntlm",
            username="CONTOSO\\anna.schmidt",
            password=ANNA_PASSWORD,
            ca_file=info["ca_file"],
        )
    text = caught.value.user_text
    assert "Dynamics 365 (online)" in text and "Microsoft 365" in text and "--auth oauth" in text
    assert "Sign in again" not in text and ".)." not in text


def _ews(info: dict[str, Any], password: str, **overrides: Any) -> EwsStore:
    values: dict[str, Any] = {
        "address": ANNA,
        "auth": EwsAuth.NTLM,
        "username": "CONTOSO\\anna.schmidt",
        "ca_file": info["ca_file"],
        "timeout": 10.0,
        "max_wait": 1.0,
        "retry_wait": 0.05,
    }
    values.update(overrides)
    return EwsStore(EwsSettings(**values), password=password)


def test_exchange_ntlm_lists_a_folder(sandbox: Sandbox, info: dict[str, Any]) -> None:
    signed_in_before = sandbox.ews.server.ntlm_sign_ins
    with _ews(info, _anna(info)["ews_password"], ews_url=info["ews_url"]) as store:
        assert store.folder(FolderKind.INBOX).display_name == "Inbox"
        assert store.folder(FolderKind.CONTACTS).kind is FolderKind.CONTACTS
    assert sandbox.ews.server.ntlm_sign_ins > signed_in_before  # really NTLM, not Basic
    with (
        _ews(info, "Wrong-Password-1", ews_url=info["ews_url"]) as store,
        pytest.raises(AuthenticationFailed),
    ):
        store.check()


def test_exchange_ntlm_autodiscover_with_the_upn(info: dict[str, Any]) -> None:
    store = _ews(
        info, _anna(info)["ews_password"], username=None, autodiscover_urls=(info["autodiscover_url"],)
    )
    with store:
        store.check()
        assert store.ews_url == info["ews_url"]


def test_onprem_org_then_exchange_mailbox_bound_with_ntlm(
    isolated_home: Path, sandbox: Sandbox, info: dict[str, Any]
) -> None:
    """The on-premises wizard path: Windows sign-in to Dynamics 365, then the Exchange mailbox with NTLM
    (Autodiscover, the mailbox record's delivery methods, the org stamp on the root folder)."""
    anna = _anna(info)
    factory = Factory(locations().ensure())
    connected = connect_onprem_as_anna(factory, info)
    assert save_org(factory, connected) is True  # the first organization synchronizes
    binding = MailboxBinding(
        address=ANNA,
        kind="exchange",
        auth="ntlm",
        username=anna["ntlm_username"],
        autodiscover_url=info["autodiscover_url"],
        ca_file=info["ca_file"],
    )
    bound = bind_mailbox(factory, binding, anna["ews_password"])
    assert bound.ews_url == info["ews_url"] and bound.autodiscovered
    mailbox = sandbox.onprem.store.find("mailboxes", "emailaddress", ANNA)
    assert mailbox is not None and mailbox["incomingemaildeliverymethod"] == 1
    with _ews(info, anna["ews_password"], ews_url=info["ews_url"]) as store:
        assert store.root_sync_org() == connected.org.id


def test_command_line_on_premises(tmp_path: Path, info: dict[str, Any]) -> None:
    """What docs/sandbox.md shows: ``orgs add --auth ntlm`` and ``mailbox bind --auth ntlm``; a wrong password is
    a sentence, not a traceback."""
    anna = _anna(info)
    add = ("orgs", "add", info["onprem"]["url"], "--auth", "ntlm", "--username", anna["ntlm_username"])
    ca = ("--ca-file", info["ca_file"], "--password-stdin")
    wrong = run_cli(tmp_path, *add, *ca, stdin="Wrong-Password-1\n")
    assert wrong.returncode != 0
    assert "did not accept the user name and password" in wrong.stderr
    assert "Traceback" not in wrong.stderr and "Wrong-Password-1" not in wrong.stderr + wrong.stdout
    added = run_cli(tmp_path, *add, *ca, stdin=anna["password"] + "\n")
    assert added.returncode == 0, added.stderr
    bind = ("mailbox", "bind", ANNA, "--auth", "ntlm")  # the user name: the organization's Windows account
    bound = run_cli(
        tmp_path,
        *bind,
        "--autodiscover-url",
        info["autodiscover_url"],
        *ca,
        stdin=anna["ews_password"] + "\n",
    )
    assert bound.returncode == 0, bound.stderr
    shown = run_cli(tmp_path, "mailbox", "show", "--json").json()["mailbox"]
    assert (shown["auth"], shown["username"]) == ("ntlm", anna["ntlm_username"])
