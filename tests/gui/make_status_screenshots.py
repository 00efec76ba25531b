"""Save the status window as docs/screenshots/20-status.png (after a run: counts, a conflict, an error) and
21-status-syncing.png (a run in progress).

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

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.gui.make_screenshots import grab, settle, wait_until

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "docs" / "screenshots"
SIZE = (820, 600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QLocale

    from wizard.sync.engine import KindCounts, KindResult, Reporter, RunSummary
    from wizard.ui.app import application
    from wizard.ui.engine_adapter import EngineAdapter
    from wizard.ui.status_window import ConflictView, KindRow, StatusView, StatusWindow

    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
    application()
    gate = threading.Event()
    at_gate = threading.Event()
    results = {
        "email": KindResult("email", to_crm=KindCounts(created=12), to_mailbox=KindCounts(created=1)),
        "contacts": KindResult("contacts", to_crm=KindCounts(created=1), to_mailbox=KindCounts(updated=3)),
        "appointments": KindResult("appointments", to_crm=KindCounts(updated=2), to_mailbox=KindCounts()),
        "tasks": KindResult(
            "tasks", KindCounts(), KindCounts(), status="error",
            message="The server is busy (throttled)",
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
            return RunSummary(1, started, datetime.now(UTC), "partial", list(results.values()), [])

    finished_at = datetime.now(UTC)
    view = StatusView(
        org_name="Contoso Sales",
        mailbox_address="anna.schmidt@contoso.com",
        mailbox_kind="exchange",
        is_sync_computer=True,
        kinds=[
            KindRow("email", finished_at, "ok", KindCounts(created=1), KindCounts(created=12)),
            KindRow("contacts", finished_at, "ok", KindCounts(updated=3), KindCounts(created=1), conflicts=1),
            KindRow("appointments", finished_at, "ok", KindCounts(), KindCounts(updated=2)),
            KindRow("tasks", finished_at, "error", errors=["The server is busy (throttled)."]),
        ],
        conflicts=[
            ConflictView(1, "contacts", "Job title", "Einkauf", "Purchasing", winner=None, item="Jörg Bär"),
        ],
    )
    first_view = StatusView(
        **{**view.__dict__, "kinds": [KindRow(k.kind) for k in view.kinds], "conflicts": []}
    )
    current = {"view": first_view}
    adapter = EngineAdapter(ScriptedEngine, interval_minutes=15)
    window = StatusWindow(adapter, lambda: current["view"], resolve=lambda _id, _use: None,
                          open_wizard=lambda: None)  # fmt: skip
    adapter.setParent(window)
    window.resize(*SIZE)
    window.show()
    wait_until(lambda: window.title.text().endswith("Contoso Sales"))
    saved: list[Path] = []

    adapter.sync_now()
    wait_until(at_gate.is_set)
    wait_until(lambda: window.progress_label.text() == "Contacts: 620 of 1,000")
    grab(window, out, "21-status-syncing", saved)

    current["view"] = view
    gate.set()
    wait_until(lambda: not adapter.running and not window.runner.busy and bool(window.cards))
    settle()
    grab(window, out, "20-status", saved)
    adapter.shutdown()
    window.runner.wait_all()
    window.dispose()
    for path in sorted(saved):
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
