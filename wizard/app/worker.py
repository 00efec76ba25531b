"""The sync engine in a child process (the status window's runs), so it never competes with the GUI for the GIL.

No Qt here: the child is a second entry point beside the command line and builds its engine with the one
:class:`~wizard.app.factory.Factory`; the parent's side (:class:`ProcessEngine`) is what the GUI's adapter runs.

bench/bench_gui.py measured a real 10,000-contact sync with the engine on a worker thread of the GUI process:
the engine's pure-Python phases (planning, reading the links) hold the interpreter lock, and the GUI thread,
which needs it for every Python slot and every Python-implemented widget method, stalled up to 0.4 s. Here
:class:`ProcessEngine` (what :class:`~wizard.ui.engine_adapter.EngineAdapter` runs on its worker) starts
``python -m wizard.app.worker``, which builds the engine from the same profile (``D365SYNC_HOME``,
keyring and token cache are the user's, as for the command line) and writes the Reporter's events and the
outcome as JSON lines on its standard output; the parent replays them to its Reporter and returns the same
RunSummary, or raises the same error class with the same texts. The child takes the profile's engine lock
like any run, so a switch of the synchronizing organization still waits for it.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any

from wizard.app.factory import Factory
from wizard.errors import D365SyncError, Severity
from wizard.paths import HOME_ENV
from wizard.sync.engine import KindCounts, KindResult, Reporter, RunSummary

log = logging.getLogger(__name__)

_ERROR_EXTRAS = ("retry_after", "status", "code")


class EngineProcessFailed(D365SyncError):
    """The child process ended without an outcome (it crashed or was killed)."""

    retriable = True


# -- the wire format -----------------------------------------------------------------------------------------
def _counts(data: dict[str, Any]) -> KindCounts:
    return KindCounts(**{f.name: int(data.get(f.name, 0)) for f in dataclasses.fields(KindCounts)})


def result_from(data: dict[str, Any]) -> KindResult:
    return KindResult(
        data["kind"], _counts(data["to_crm"]), _counts(data["to_mailbox"]), data["status"], data["message"]
    )


def summary_from(data: dict[str, Any]) -> RunSummary:
    return RunSummary(
        data["run_id"],
        datetime.fromisoformat(data["started"]),
        datetime.fromisoformat(data["finished"]),
        data["status"],
        [result_from(k) for k in data["kinds"]],
        list(data["planned"]),
    )


def summary_json(summary: RunSummary) -> dict[str, Any]:
    data = dataclasses.asdict(summary)
    data["started"], data["finished"] = summary.started.isoformat(), summary.finished.isoformat()
    return data


def error_json(error: D365SyncError) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": f"{type(error).__module__}:{type(error).__qualname__}",
        "message": error.message,
        "user_text": error.user_text,
        "severity": int(error.severity),
        "retriable": error.retriable,
    }
    for name in _ERROR_EXTRAS:
        value = getattr(error, name, None)
        if isinstance(value, int | float | str):
            data[name] = value
    return data


def error_from(data: dict[str, Any]) -> D365SyncError:
    """The same error class (so the account state is classified alike), with the child's texts."""
    cls: type[D365SyncError] = D365SyncError
    module, _, name = str(data.get("type", "")).partition(":")
    if module.startswith("wizard.") and name and "." not in name:
        try:
            found = getattr(importlib.import_module(module), name, None)
        except ImportError:
            found = None
        if isinstance(found, type) and issubclass(found, D365SyncError):
            cls = found
    error = cls.__new__(cls)
    Exception.__init__(error, data["message"])
    error.message = data["message"]
    error.user_text = data["user_text"]
    error.severity = Severity(data["severity"])
    error.retriable = bool(data["retriable"])
    for extra in _ERROR_EXTRAS:
        if extra in data:
            setattr(error, extra, data[extra])
    return error


# -- the parent's side ---------------------------------------------------------------------------------------
class ProcessEngine:
    """What EngineAdapter needs of an engine (``run_once``, ``close``), run in a child process."""

    def __init__(
        self, reporter: Reporter, *, home: os.PathLike[str] | str | None = None, python: str | None = None
    ) -> None:
        self.reporter = reporter
        self.home = home  # the parent's profile folder (D365SYNC_HOME for the child); None: the platform's
        self.python = python or sys.executable
        self._process: subprocess.Popen[str] | None = None

    def run_once(
        self,
        kinds: Sequence[str] | None = None,
        *,
        dry_run: bool = False,
        force: bool = False,
        fresh: bool = False,
    ) -> RunSummary:
        args = [self.python, "-m", "wizard.app.worker"]
        if kinds is not None:
            args += ["--kinds", ",".join(kinds)]
        if dry_run:
            args.append("--dry-run")
        if force:
            args.append("--force")
        if fresh:
            args.append("--fresh")
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}  # the child shows nothing
        env.pop(HOME_ENV, None)
        if self.home is not None:  # the same profile as the parent's Factory, however it was chosen
            env[HOME_ENV] = os.fspath(self.home)
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, encoding="utf-8", env=env,
        )  # fmt: skip
        self._process = process
        assert process.stdout is not None
        outcome: dict[str, Any] | None = None
        for line in process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                log.warning("engine process wrote something that is not an event: %.200s", line)
                continue
            outcome = self._replay(event) or outcome
        code = process.wait()
        self._process = None
        if outcome is None:
            raise EngineProcessFailed(
                f"engine process ended with exit code {code} and no outcome",
                user_text="The synchronization stopped unexpectedly. The log file has the details; it will be "
                "tried again.",
            )
        if "error" in outcome:
            raise error_from(outcome["error"])
        return summary_from(outcome["summary"])

    def _replay(self, event: dict[str, Any]) -> dict[str, Any] | None:
        what = event.get("event")
        if what == "run_started":
            self.reporter.run_started(event["kinds"])
        elif what == "kind_started":
            self.reporter.kind_started(event["kind"])
        elif what == "progress":
            self.reporter.progress(event["kind"], event["done"], event["total"], event["message"])
        elif what == "kind_finished":
            self.reporter.kind_finished(result_from(event["result"]))
        elif what in ("summary", "error"):
            return event
        return None

    def close(self) -> None:
        """Stop a child still running (the window closed mid-run); the engine is crash-safe by design."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


# -- the child's side ----------------------------------------------------------------------------------------
class _LineReporter:
    """The engine's Reporter in the child: one JSON line per event on ``out``."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def _emit(self, event: dict[str, Any]) -> None:
        self.out.write(json.dumps(event) + "\n")
        self.out.flush()

    def run_started(self, kinds: Sequence[str]) -> None:
        self._emit({"event": "run_started", "kinds": list(kinds)})

    def kind_started(self, kind: str) -> None:
        self._emit({"event": "kind_started", "kind": kind})

    def progress(self, kind: str, done: int, total: int | None, message: str = "") -> None:
        self._emit({"event": "progress", "kind": kind, "done": done, "total": total, "message": message})

    def kind_finished(self, result: KindResult) -> None:
        self._emit({"event": "kind_finished", "result": dataclasses.asdict(result)})

    def run_finished(self, summary: RunSummary) -> None:
        pass  # the outcome line carries it


def main(argv: Sequence[str] | None = None) -> int:
    """One run for the profile in ``D365SYNC_HOME`` (or the platform's folders); events on standard output."""
    parser = argparse.ArgumentParser(prog="python -m wizard.app.worker")
    parser.add_argument("--kinds", default=None)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args(argv)

    from wizard import logging_setup
    from wizard.paths import locations

    out = sys.stdout
    sys.stdout = sys.stderr  # nothing else may write on the event channel
    reporter = _LineReporter(out)
    where = locations().ensure()
    logging_setup.configure(where)
    kinds = args.kinds.split(",") if args.kinds else None
    try:
        with Factory(where).engine(reporter) as engine:
            summary = engine.run_once(kinds, dry_run=args.dry_run, force=args.force, fresh=args.fresh)
    except D365SyncError as error:
        reporter._emit({"event": "error", "error": error_json(error)})
        return 1
    except Exception as exc:  # a bug: the parent shows a short text, the log has the details
        log.exception("the engine process failed")
        unexpected = D365SyncError(
            f"engine process: {type(exc).__name__}",
            user_text=f"Something unexpected went wrong ({type(exc).__name__}). The log file has the details.",
        )
        reporter._emit({"event": "error", "error": error_json(unexpected)})
        return 1
    reporter._emit({"event": "summary", "summary": summary_json(summary)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
