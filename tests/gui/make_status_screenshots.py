"""Save the status window as docs/screenshots/20-status.png (after a run: counts, a conflict, an error),
21-status-syncing.png (a run in progress), 22-status-switched-org.png (after switching the synchronizing
organization to one where the mailbox is not bound yet) and its Log dialog as 23-status-log.png (the activity).

Run: ``python -m tests.gui.make_status_screenshots [--out DIR]`` (offscreen unless QT_QPA_PLATFORM says
otherwise). The engine is a scripted stand-in that follows wizard.sync.engine's API, so the pictures show
the same numbers every time; nothing touches the network.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wizard.sync.run import KindRunStatus, RunStatus

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.gui.make_screenshots import grab, settle, wait_until

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "docs" / "screenshots"
SIZE = (820, 600)


# what the EWS backend says when Exchange throttles (wizard/mailbox/ews.py): the window shows it translated
BUSY = "outlook.contoso.com is busy and asked us to slow down. Synchronization continues later."
ORGS = [("8f1010f0-0a7a-5fe6-8efb-aed25180e649", "Contoso Sales"),
        ("304921f6-37d0-50b9-8897-88fdfcc4952b", "Contoso Test")]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QLocale

    from wizard.app.factory import not_bound_text
    from wizard.app.status import RunActivity
    from wizard.errors import Severity
    from wizard.sync.engine import KindCounts, KindResult, Reporter, RunSummary
    from wizard.sync.state import ErrorRecord, RunCounts, RunRecord
    from wizard.ui.app import application
    from wizard.ui.engine_adapter import EngineAdapter
    from wizard.ui.i18n import LANG_ENV
    from wizard.ui.status import ConflictView, KindRow, OrgSwitch, StatusView, StatusWindow

    german = os.environ.get(LANG_ENV) == "de"  # numbers as the language writes them (1.000 / 1,000)
    QLocale.setDefault(QLocale(QLocale.Language.German, QLocale.Country.Germany) if german
                       else QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))  # fmt: skip
    application()
    gate = threading.Event()
    at_gate = threading.Event()
    results = {
        "email": KindResult("email", to_crm=KindCounts(created=12), to_mailbox=KindCounts(created=1)),
        "contacts": KindResult("contacts", to_crm=KindCounts(created=1), to_mailbox=KindCounts(updated=3)),
        "appointments": KindResult("appointments", to_crm=KindCounts(updated=2), to_mailbox=KindCounts()),
        "tasks": KindResult(
            "tasks", KindCounts(), KindCounts(), status=KindRunStatus.ERROR,
            message=BUSY,
        ),
    }  # fmt: skip

    class ScriptedEngine:
        def __init__(self, reporter: Reporter) -> None:
            self.reporter = reporter

        def run_once(self, kinds: Sequence[str] | None = None, **_: Any) -> RunSummary:
            started = datetime.now(UTC)
            names = list(results)
            self.reporter.run_started(names)
            for name in names:
                self.reporter.kind_started(name)
                if name == "contacts" and not gate.is_set():
                    self.reporter.progress(name, 620, 1000)
                    at_gate.set()
                    gate.wait(30)
                self.reporter.kind_finished(results[name])
            return RunSummary(1, started, datetime.now(UTC), RunStatus.PARTIAL, list(results.values()), [])

    finished_at = datetime.now(UTC)
    view = StatusView(
        org_name="Contoso Sales",
        mailbox_address="anna.schmidt@contoso.com",
        mailbox_kind="exchange",
        is_sync_computer=True,
        kinds=[
            KindRow("email", finished_at, "ok", KindCounts(created=1), KindCounts(created=12)),
            KindRow("contacts", finished_at, "ok", KindCounts(updated=3), KindCounts(created=1), conflicts=1),
            KindRow("appointments", finished_at, "ok", KindCounts(), KindCounts(updated=2), waiting=2),
            KindRow("tasks", finished_at, "error", errors=[BUSY]),
        ],
        conflicts=[
            ConflictView(
                1, "contacts", "jobtitle", "Einkauf", "Purchasing", item="Jörg Bär", label="Job Title"
            ),
        ],
        organizations=ORGS,
        sync_org_id=ORGS[0][0],
        activity=[
            RunActivity(
                RunRecord(3, finished_at.isoformat(), finished_at.isoformat(), "partial", {
                    ("email", "to_crm"): RunCounts(created=12), ("email", "to_mailbox"): RunCounts(created=1),
                    ("contacts", "to_mailbox"): RunCounts(updated=3), ("contacts", "to_crm"): RunCounts(created=1),
                    ("appointments", "to_crm"): RunCounts(updated=2)}),
                [ErrorRecord(3, "tasks", Severity.KIND, BUSY, None)],
            ),
            RunActivity(RunRecord(2, "2026-11-24T16:30:00Z", "2026-11-24T16:30:09Z", "ok", {})),
            RunActivity(RunRecord(1, "2026-11-24T16:15:00Z", "2026-11-24T16:15:41Z", "ok", {
                ("contacts", "to_mailbox"): RunCounts(created=100), ("tasks", "to_mailbox"): RunCounts(created=7)})),
        ],
    )  # fmt: skip
    first_view = StatusView(
        **{**view.__dict__, "kinds": [KindRow(k.kind) for k in view.kinds], "conflicts": []}
    )
    current = {"view": first_view}
    adapter = EngineAdapter(ScriptedEngine, interval_minutes=15)

    def switch(org_id: str) -> OrgSwitch:  # the flags flip; the mailbox is not bound in Contoso Test yet
        current["view"] = StatusView(org_name="Contoso Test", mailbox_address="anna.schmidt@contoso.com",
                                     mailbox_kind="exchange", is_sync_computer=True,
                                     kinds=[KindRow(k.kind) for k in view.kinds], organizations=ORGS,
                                     sync_org_id=org_id)  # fmt: skip
        return OrgSwitch(
            "Contoso Test", mailbox_text=not_bound_text("anna.schmidt@contoso.com", "Contoso Test")
        )

    window = StatusWindow(adapter, lambda: current["view"], resolve=lambda _id, _use: None,
                          open_wizard=lambda _page: None, switch_org=switch)  # fmt: skip
    adapter.setParent(window)
    window.resize(*SIZE)
    window.show()
    wait_until(lambda: window.title.text().endswith("Contoso Sales"))
    saved: list[Path] = []

    adapter.sync_now()
    wait_until(at_gate.is_set)
    wait_until(lambda: window.progress_bar.value() == 620 and window.progress_row.isVisible())
    grab(window, out, "21-status-syncing", saved)

    current["view"] = view
    gate.set()
    wait_until(lambda: not adapter.running and not window.runner.busy and bool(window.cards))
    settle()
    grab(window, out, "20-status", saved)
    window.log_view.resize(*SIZE)
    window.show_log()
    settle()
    grab(window.log_view, out, "23-status-log", saved)
    window.log_view.hide()

    # Switching the synchronizing organization from the combo: asked, flipped, then the new one's state.
    window.confirm = lambda _title, _text: True
    window.org_combo.setCurrentIndex(window.org_combo.findData(ORGS[1][0]))
    window.org_combo.activated.emit(window.org_combo.currentIndex())
    wait_until(
        lambda: not window.switching and not window.runner.busy and window.title.text().endswith("Test")
    )
    settle()
    grab(window, out, "22-status-switched-org", saved)
    adapter.shutdown()
    window.runner.wait_all()
    window.dispose()
    for path in sorted(saved):
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
