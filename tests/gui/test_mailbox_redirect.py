"""The Mailbox page and an Autodiscover redirect to a server outside the address's domain (issue 11 item 3): the
wizard asks as Outlook does, naming the server, and sends nothing there unless the user allows it."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.gui.conftest import hints_for
from tests.gui.helpers import add_via_discovery, click, next_page, replies, wait_idle
from tests.support.autodiscover_soap import redirect_url
from tests.support.hostile import HostileServer, hostile, hostile_ca  # noqa: F401 (fixtures)
from wizard.app.factory import Factory
from wizard.mailbox.ews.autodiscover import AUTODISCOVER_PATH

pytestmark = pytest.mark.gui


def _mailbox_page(
    qtbot: Any,
    make_wizard: Any,
    info: dict[str, Any],
    server: HostileServer,
    tmp_path: Path,
) -> Any:
    """The Mailbox page with the Autodiscover URL of a server that redirects to the stand-in's (127.0.0.1,
    outside contoso.com)."""
    server.on("POST", AUTODISCOVER_PATH, redirect_url(info["autodiscover_url"]))
    ca_file = tmp_path / "both-cas.pem"
    ca_file.write_bytes(Path(info["ca_file"]).read_bytes() + server.ca_file.read_bytes())
    preset = hints_for(info)
    mailbox = dataclasses.replace(
        preset.mailbox,
        ca_file=str(ca_file),
        autodiscover_url=f"https://localhost:{server.port}{AUTODISCOVER_PATH}",
    )
    wizard = make_wizard(dataclasses.replace(preset, mailbox=mailbox))
    next_page(qtbot, wizard)
    add_via_discovery(qtbot, wizard, "Contoso Sales")
    next_page(qtbot, wizard)
    page = wizard.mailbox_page
    wait_idle(qtbot, page)
    assert page.autodiscover_radio.isChecked()
    return page


def test_declining_the_redirect_sends_nothing_and_says_so(
    qtbot: Any,
    make_wizard: Any,
    info: dict[str, Any],
    factory: Factory,
    hostile: HostileServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    page = _mailbox_page(qtbot, make_wizard, info, hostile, tmp_path)
    asked: list[str] = []
    threads: list[bool] = []

    def confirm(title: str, text: str) -> bool:
        threads.append(threading.current_thread() is threading.main_thread())
        return replies(False, asked=asked)(title, text)

    page.confirm = confirm
    click(qtbot, page.bind_button)
    qtbot.waitUntil(lambda: bool(asked) and not page.running, timeout=30000)
    (question,) = asked
    assert f"Allow this website to configure {page.address.text()} server settings?" in question
    assert "127.0.0.1" in question
    assert threads == [True]  # asked on the GUI thread
    assert page.banner.kind == "warning" and "Nothing was sent to 127.0.0.1" in page.banner.text()
    assert factory.reload().mailbox is None


def test_allowing_the_redirect_binds_through_it(
    qtbot: Any,
    make_wizard: Any,
    info: dict[str, Any],
    factory: Factory,
    hostile: HostileServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    page = _mailbox_page(qtbot, make_wizard, info, hostile, tmp_path)
    asked: list[str] = []
    page.confirm = replies(True, asked=asked)
    click(qtbot, page.bind_button)
    qtbot.waitUntil(lambda: page.banner.kind == "ok", timeout=60000)
    wait_idle(qtbot, page)
    assert len(asked) == 1 and "127.0.0.1" in asked[0]
    bound = factory.reload().mailbox
    assert bound is not None
    assert bound.ews_url == info["ews_url"] and bound.autodiscover_redirects == ["127.0.0.1"]
