"""The Log's activity list: each run the state DB keeps, in words (when, what happened, how it ended), with the
failures it recorded beneath it. No widgets here: :class:`~wizard.ui.log_view.LogView` shows the entries.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime

from PySide6.QtCore import QCoreApplication, QDateTime, QLocale

from wizard.app.status import RunActivity
from wizard.settings.enums import ALL_KINDS
from wizard.sync.run import ALREADY_TRACKED, KindCounts, RunStatus
from wizard.sync.state import RunCounts
from wizard.ui.engine_texts import kind_title
from wizard.ui.engine_texts import translate as engine_text
from wizard.ui.status.widgets import counts_text


@dataclass(frozen=True)
class ActivityEntry:
    """One line of the list: ``time`` as the user reads it, ``what`` happened, the ``result``, and the
    details beneath it (the changes per kind, then the failures and notes of the run, in the user's
    language)."""

    time: str
    what: str
    result: str
    failed: bool = False
    details: list[str] = field(default_factory=list)


def time_text(stamp: str | None, now: datetime | None = None) -> str:
    """ "10:42" for today, else the locale's short date and time; "" when the state DB has none."""
    if not stamp:
        return ""
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone()
    today = (now or datetime.now(UTC)).astimezone().date()
    if when.date() == today:
        return when.strftime("%H:%M")
    return QLocale().toString(
        QDateTime.fromSecsSinceEpoch(int(when.timestamp())), QLocale.FormatType.ShortFormat
    )


def _counts(counts: RunCounts) -> KindCounts:
    return KindCounts(**{f.name: getattr(counts, f.name) for f in dataclasses.fields(KindCounts)})


def _changes(activity: RunActivity) -> list[tuple[str, str]]:
    """(kind, "3 updated in the mailbox, 1 created in Dynamics 365") for each kind the run changed."""
    found: list[tuple[str, str]] = []
    counts = activity.run.counts
    for kind in [*ALL_KINDS, *sorted({k for k, _ in counts} - set(ALL_KINDS))]:
        sides = []
        for direction, template in (
            ("to_mailbox", QCoreApplication.translate("Activity", "{changes} in the mailbox")),
            ("to_crm", QCoreApplication.translate("Activity", "{changes} in Dynamics 365")),
        ):
            side = counts.get((kind, direction))
            text = counts_text(kind, _counts(side), direction) if side is not None else "—"
            if text != "—":
                sides.append(template.format(changes=text))
        if sides:
            found.append((kind, ", ".join(sides)))
    return found


def _what(changes: list[tuple[str, str]]) -> str:
    """ "Synchronized: Email, Contacts" (the kinds that changed; the details are beneath), or that nothing
    changed."""
    if not changes:
        return QCoreApplication.translate("Activity", "Synchronized: nothing to change")
    kinds = ", ".join(kind_title(kind) for kind, _ in changes)
    return QCoreApplication.translate("Activity", "Synchronized: {kinds}").format(kinds=kinds)


def _result(status: str, errors: int) -> tuple[str, bool]:
    if status == RunStatus.OK:
        return QCoreApplication.translate("Activity", "Succeeded"), False
    if status == RunStatus.PARTIAL:
        return QCoreApplication.translate("Activity", "Partly failed"), True
    if status == RunStatus.FAILED:
        return QCoreApplication.translate("Activity", "Failed"), True
    if status == RunStatus.RUNNING:
        return QCoreApplication.translate("Activity", "Running, or stopped unexpectedly"), errors > 0
    if status == RunStatus.NOT_SYNC_COMPUTER:
        return QCoreApplication.translate("Activity", "Another computer synchronizes"), False
    return status, errors > 0


def entry(activity: RunActivity, now: datetime | None = None) -> ActivityEntry:
    """The words for one run."""
    failures = [e for e in activity.errors if e.item != ALREADY_TRACKED]
    notes = [e for e in activity.errors if e.item == ALREADY_TRACKED]
    result, failed = _result(activity.run.status, len(failures))
    changes = _changes(activity)
    details = [f"{kind_title(kind)}: {text}" for kind, text in changes]
    details += [
        f"{kind_title(e.kind)}: {engine_text(e.message)}" if e.kind else engine_text(e.message)
        for e in [*failures, *notes]
    ]
    return ActivityEntry(
        time_text(activity.run.finished or activity.run.started, now),
        _what(changes),
        result,
        failed,
        details,
    )


def entries(activity: list[RunActivity], now: datetime | None = None) -> list[ActivityEntry]:
    """The list, newest first (as the state DB gives the runs)."""
    return [entry(a, now) for a in activity]
