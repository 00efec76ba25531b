"""The engine in a child process (wizard.app.worker): outcomes and errors cross the pipe unchanged
(same error class, texts, retry hints, so the account state is the same), events are replayed to the
Reporter in order, and a child that dies without an outcome is a retriable failure, not a hang."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from wizard.app.factory import NotConfigured
from wizard.app.worker import (
    EngineProcessFailed,
    ProcessEngine,
    error_from,
    error_json,
    summary_from,
    summary_json,
)
from wizard.errors import D365SyncError
from wizard.odata.errors import ThrottledError, error_for_status
from wizard.sync.engine import KindCounts, KindResult, RunSummary
from wizard.sync.run import KindRunStatus, RunStatus
from wizard.ui.account_state import AccountState
from wizard.ui.engine_adapter import classify

pytestmark = pytest.mark.gui


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def run_started(self, kinds: Sequence[str]) -> None:
        self.events.append(("run_started", list(kinds)))

    def kind_started(self, kind: str) -> None:
        self.events.append(("kind_started", kind))

    def progress(self, kind: str, done: int, total: int | None, message: str = "") -> None:
        self.events.append(("progress", kind, done, total, message))

    def kind_finished(self, result: KindResult) -> None:
        self.events.append(("kind_finished", result))

    def run_finished(self, summary: RunSummary) -> None:
        self.events.append(("run_finished", summary))


def test_errors_keep_their_class_texts_and_retry_hint() -> None:
    throttled = error_for_status(429, url="https://contoso.crm4.dynamics.com/api/data/v9.2/", retry_after=42)
    back = error_from(error_json(throttled))
    assert type(back) is ThrottledError
    assert (back.message, back.user_text, back.retriable, back.severity) == (
        throttled.message, throttled.user_text, throttled.retriable, throttled.severity,
    )  # fmt: skip
    assert back.retry_after == 42
    assert classify(back) is classify(throttled)
    missing = error_from(error_json(NotConfigured("no mailbox", user_text="Bind one.")))
    assert isinstance(missing, NotConfigured) and classify(missing) is AccountState.NOT_CONFIGURED
    # anything that is not one of ours arrives as the base class, never an arbitrary import
    odd = error_from({**error_json(D365SyncError("x")), "type": "os:system"})
    assert type(odd) is D365SyncError and odd.user_text == "x"


def test_summaries_round_trip() -> None:
    summary = RunSummary(
        7, datetime(2026, 11, 25, 8, 0, tzinfo=UTC), datetime(2026, 11, 25, 8, 1, tzinfo=UTC), RunStatus.PARTIAL,
        [KindResult("contacts", KindCounts(created=3), KindCounts(updated=1, conflicts=2), KindRunStatus.ERROR, "Failed.")],
        ["a plan line"],
    )  # fmt: skip
    assert summary_from(summary_json(summary)) == summary


def test_a_child_run_replays_the_events_and_raises_the_childs_error(isolated_home: Path) -> None:
    """Nothing is configured in this home: the child says so with the factory' own error."""
    recorder = Recorder()
    with pytest.raises(NotConfigured) as raised:
        ProcessEngine(recorder).run_once(["contacts"])
    assert "No organization synchronizes yet" in raised.value.user_text
    assert recorder.events == []


def test_a_child_without_an_outcome_is_a_retriable_failure(tmp_path: Path) -> None:
    false = shutil.which("false")
    if false is None:
        pytest.skip("no false(1) here")
    with pytest.raises(EngineProcessFailed) as raised:
        ProcessEngine(Recorder(), python=false).run_once()
    assert raised.value.retriable
    assert "stopped unexpectedly" in raised.value.user_text


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for the interpreter")
def test_events_are_replayed_in_order(tmp_path: Path) -> None:
    """A stand-in child that writes the wire format (what wizard.app.worker.main writes)."""
    script = tmp_path / "child.py"
    summary = RunSummary(1, datetime.now(UTC), datetime.now(UTC), RunStatus.OK,
                         [KindResult("tasks", KindCounts(created=2), KindCounts())], [])  # fmt: skip
    script.write_text(
        "import json, sys\n"
        "for e in json.loads(" + repr(json.dumps([
            {"event": "run_started", "kinds": ["tasks"]},
            {"event": "kind_started", "kind": "tasks"},
            {"event": "progress", "kind": "tasks", "done": 25, "total": 50, "message": "reading"},
            {"event": "kind_finished", "result": summary_json(summary)["kinds"][0]},
            {"event": "summary", "summary": summary_json(summary)},
        ])) + "):\n    print(json.dumps(e), flush=True)\n",
        encoding="utf-8",
    )  # fmt: skip
    wrapper = tmp_path / "python"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {script}\n", encoding="utf-8")
    wrapper.chmod(0o755)
    recorder = Recorder()
    result = ProcessEngine(recorder, python=str(wrapper)).run_once(["tasks"])
    assert result == summary
    assert [e[0] for e in recorder.events] == ["run_started", "kind_started", "progress", "kind_finished"]
    assert recorder.events[2] == ("progress", "tasks", 25, 50, "reading")


def test_the_child_uses_the_parents_profile_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A profile chosen in code (the GUI demo's throw-away folder) reaches the child, whatever the
    environment says: the child reads the given home, not D365SYNC_HOME."""
    script = tmp_path / "child.py"
    script.write_text(
        "import json, os\n"
        "print(json.dumps({'event': 'error', 'error': {'type': 'wizard.errors:D365SyncError',"
        " 'message': os.environ.get('D365SYNC_HOME', '-'), 'user_text': '', 'severity': 2,"
        " 'retriable': False}}), flush=True)\n",
        encoding="utf-8",
    )
    wrapper = tmp_path / "python"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {script}\n", encoding="utf-8")
    wrapper.chmod(0o755)
    monkeypatch.setenv("D365SYNC_HOME", str(tmp_path / "elsewhere"))
    with pytest.raises(D365SyncError) as raised:
        ProcessEngine(Recorder(), home=tmp_path / "demo-profile", python=str(wrapper)).run_once()
    assert raised.value.message == str(tmp_path / "demo-profile")
    with pytest.raises(D365SyncError) as raised:
        ProcessEngine(Recorder(), python=str(wrapper)).run_once()  # the platform's folders: no variable
    assert raised.value.message == "-"


def test_a_process_local_keyring_keeps_the_engine_in_this_process(isolated_home: Path) -> None:
    """`d365sync demo` keeps its secrets in memory; a child could not read them, so the run stays here."""
    from wizard.app.factory import Factory
    from wizard.paths import locations
    from wizard.secrets import keyring_is_process_local, use_memory_keyring
    from wizard.ui.status.compose import engine_maker

    make_engine = engine_maker(Factory(locations().ensure()))
    assert type(make_engine(Recorder())).__name__ == "ProcessEngine"
    use_memory_keyring()
    assert keyring_is_process_local()
    with pytest.raises(NotConfigured):  # built here (nothing is configured), not handed to a child
        make_engine(Recorder())
