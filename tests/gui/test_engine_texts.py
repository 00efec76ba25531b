"""The engine's English texts reach the status window in the user's language: the table's templates match
what the engine really writes (real error objects, and every fixed part found in the engine's sources), and
in German a throttled run, a failed kind and a mass-delete stop show German text."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QThreadPool

from wizard.odata.errors import error_for_status
from wizard.sync.engine import KindCounts, KindResult, RunSummary
from wizard.sync.run import KindRunStatus, RunStatus
from wizard.ui import engine_texts, i18n
from wizard.ui.account_state import AccountState
from wizard.ui.engine_adapter import EngineAdapter
from wizard.ui.status import KindRow, StatusView, StatusWindow
from wizard.ui.workers import TaskRunner

pytestmark = pytest.mark.gui
WIZARD = Path(__file__).resolve().parents[2] / "wizard"
TIMEOUT = 10000


def _engine_sources() -> str:
    """Every non-GUI module's text with adjacent string literals joined ("a " "b" over two lines -> "a b")."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in WIZARD.rglob("*.py") if "ui" not in p.parts)
    return re.sub(r"\"\s*\n\s*f?\"", "", text)


# Texts the engine composes at run time (``+``, a variable verb): checked on real objects below instead.
COMPOSED = (
    "A synchronization is already running",
    "The computer {host} ",
    "{host} did not accept the sign-in even after a fresh sign-in token",
)


def test_every_template_still_matches_the_engine_sources() -> None:
    sources = _engine_sources()
    missing = []
    for entry in engine_texts.TABLE:
        if entry.engine.startswith(COMPOSED):
            continue
        for fragment in re.split(r"\{\w+\}", entry.engine):
            # the ": " and "." around a part the engine composes (``f"{record}: {done}."``) are not in its sources
            if len(fragment.strip()) >= 8 and fragment.strip(" :.") not in sources:
                missing.append(f"{fragment!r} (of {entry.engine[:60]!r}…)")
    assert not missing, "the engine changed these texts; update wizard/ui/engine_texts.py:\n" + "\n".join(
        missing
    )


def test_real_errors_match_and_unknown_texts_pass_through(qapp: Any, tmp_path: Path) -> None:
    throttled = error_for_status(429, url="https://contoso.crm4.dynamics.com/api/data/v9.2/contacts")
    found = engine_texts.match(throttled.user_text)
    assert found is not None and found[1] == {"host": "contoso.crm4.dynamics.com"}
    from wizard.crm.records import Claim, ClaimHeldElsewhere

    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    held = ClaimHeldElsewhere(Claim("i-1", "ANNA-DESKTOP", now, now))
    found = engine_texts.match(held.user_text)
    assert found is not None and found[1]["host"] == "ANNA-DESKTOP"
    lost = ClaimHeldElsewhere(Claim("i-1", "ANNA-DESKTOP", now, now), lost=True)
    assert engine_texts.match(lost.user_text) is not None
    assert engine_texts.match(held.user_text) != engine_texts.match(lost.user_text)
    from wizard.sync.engine import EngineBusy, EngineLock

    lock_file = tmp_path / "engine.lock"
    with EngineLock(lock_file).held(), pytest.raises(EngineBusy) as busy:
        EngineLock(lock_file).acquire()
    found = engine_texts.match(busy.value.user_text)
    assert found is not None and found[1].get("pid") == str(os.getpid())
    refused = "onprem.contoso.local did not accept the user name and password (Windows sign-in). Check both; "
    found = engine_texts.match(refused + "enter the user name as DOMAIN\\user or user@domain.")
    assert found is not None and found[1] == {"host": "onprem.contoso.local", "domain_user": "DOMAIN\\user"}
    assert engine_texts.translate("Something nobody listed.") == "Something nobody listed."
    assert engine_texts.translate("") == ""


@pytest.fixture
def german(qapp: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(i18n.LANG_ENV, "de")
    i18n.install_translations(qapp)
    yield
    i18n.remove_translations()


def test_engine_errors_are_german_in_the_status_window(qtbot: Any, german: None) -> None:
    """A run that stops for a mass delete and a run that fails throttled: the window's lines, the account
    state's detail and the tooltips read German, with the host and the numbers kept."""
    mass = (
        "contacts: this run would delete 12 of 20 items in the mailbox and 0 of 20 records in Dynamics 365. "
        "Nothing was changed. Run again with --yes to delete them."
    )
    outcomes: list[Any] = [
        RunSummary(
            1,
            datetime.now(UTC),
            datetime.now(UTC),
            RunStatus.PARTIAL,
            [KindResult("contacts", KindCounts(), KindCounts(), KindRunStatus.NEEDS_CONFIRMATION, mass)],
            [],
        ),
        error_for_status(429, url="https://contoso.crm4.dynamics.com/api/data/v9.2/contacts"),
    ]

    class Engine:
        def run_once(self, kinds: Any = None, **_: Any) -> RunSummary:
            outcome = outcomes.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

    # what the state DB holds after such a run: the engine's English text
    view = StatusView(
        org_name="Contoso Sales", kinds=[KindRow("contacts", errors=[mass], last_status="needs_confirmation")]
    )
    adapter = EngineAdapter(lambda _r: Engine(), runner=TaskRunner(pool=QThreadPool()))
    window = StatusWindow(adapter, lambda: view, resolve=lambda _i, _u: None)
    adapter.setParent(window)
    qtbot.addWidget(window)
    try:
        with qtbot.waitSignal(window.refreshed, timeout=TIMEOUT):
            window.show()
        with (
            qtbot.waitSignal(adapter.run_finished, timeout=TIMEOUT),
            qtbot.waitSignal(window.refreshed, timeout=TIMEOUT),
        ):
            adapter.sync_now()
        assert "Dieser Lauf würde 12 von 20 Elementen im Postfach" in window.state_detail.text()
        item = window.table.item_for("contacts")
        assert item is not None and "„Trotzdem synchronisieren…“" in item.toolTip(5)
        (line,) = window.error_lines
        assert line.label.text().startswith("Kontakte: Dieser Lauf würde 12 von 20"), line.label.text()
        assert line.needs_confirmation

        with qtbot.waitSignal(adapter.run_failed, timeout=TIMEOUT):
            adapter.sync_now()
        qtbot.waitUntil(lambda: not window.runner.busy, timeout=TIMEOUT)
        assert adapter.state.state is AccountState.ERROR
        assert adapter.state.state.text == "Fehler"
        detail = window.state_detail.text()
        assert detail.startswith("contoso.crm4.dynamics.com begrenzt, wie viele Anfragen"), detail
        lines = [e.label.text() for e in window.error_lines]
        assert any("begrenzt, wie viele Anfragen wir senden dürfen" in line for line in lines), lines
        assert not any("is limiting" in line for line in lines)
    finally:
        adapter.shutdown(5000)
        window.runner.wait_all(5000)
        window.dispose()


def test_offline_decisions_read_german(german: None) -> None:
    """What a decision did (``wizard.app.offline.resolve_conflict``), as the Records window's Decisions banner
    shows it."""
    said = engine_texts.translate("contact Anna Bär: it will be created again at the next go-online.")
    assert said.startswith("contact Anna Bär: ") and "go-online" not in said and "erneut" in said, said
    assert "Dynamics 365" in engine_texts.translate("account Fabrikam: kept and sent to Dynamics 365.")
    assert "kept and sent" not in engine_texts.translate("account Fabrikam: kept and sent to Dynamics 365.")
