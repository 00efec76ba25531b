"""The exceptions of a calendar series over EWS: deleted and modified occurrences, read and written."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from exchangelib import CalendarItem, EWSDateTime
from exchangelib.items import ALL_OCCURRENCES, ALWAYS_OVERWRITE, HARD_DELETE, SEND_TO_NONE
from exchangelib.properties import OccurrenceItemId

from wizard.mailbox.base import (
    AppointmentItem,
    FolderKind,
    Item,
    ItemResult,
    MailboxError,
    Recurrence,
    occurrence_plan,
)
from wizard.mailbox.ews.connection import EwsConnection, Opened
from wizard.mailbox.ews.errors import BatchDeleteItem, item_error
from wizard.mailbox.ews.recurrence import instance_indexes, series_from_ews
from wizard.mailbox.ews.values import as_text, in_zone

log = logging.getLogger(__name__)


class OccurrenceWrites(EwsConnection):
    """Reading and writing the exceptions of a series: deleted and modified occurrences of a master, written
    after the master itself (as Outlook does), never telling attendees; the master's change key read again
    afterwards.
    """

    def _fill_exceptions(self, opened: Opened, items: Sequence[Item], xs: Sequence[Any]) -> None:
        """Subject and location of each modified occurrence, read from the exceptions in one GetItem."""
        wanted: list[tuple[AppointmentItem, int, str]] = []
        tz = self._tz(opened)
        for item, x in zip(items, xs, strict=True):
            if not isinstance(item, AppointmentItem) or item.recurrence is None:
                continue
            ids: dict[dt.date, str] = {}
            for occ in x.modified_occurrences or []:
                original = in_zone(occ.original_start, tz)
                if occ.id and original is not None:
                    ids[original.date()] = occ.id
            for n, change in enumerate(item.recurrence.modified_occurrences):
                if change.original in ids:
                    wanted.append((item, n, ids[change.original]))
        if not wanted:
            return
        fetched = opened.account.fetch(
            ids=[(occ_id, None) for _, _, occ_id in wanted],
            folder=self._folder_obj(opened, FolderKind.CALENDAR),
            only_fields=["subject", "location"],
            chunk_size=self.settings.batch_size,
        )
        for (item, n, _), got in zip(wanted, fetched, strict=True):
            if isinstance(got, Exception) or item.recurrence is None:
                continue
            changes = list(item.recurrence.modified_occurrences)
            subject, location = as_text(got.subject), as_text(got.location)
            changes[n] = replace(
                changes[n],
                subject=subject if subject != item.subject else None,
                location=location if location != item.location else None,
            )
            item.recurrence = replace(item.recurrence, modified_occurrences=tuple(changes))

    def _write_occurrences(
        self, opened: Opened, pairs: Sequence[tuple[str, AppointmentItem, Recurrence | None]]
    ) -> dict[str, MailboxError]:
        """Delete / change single occurrences of the masters in ``pairs`` (id, wanted item, server's series).

        Never tells attendees (SendToNone). Returns the masters whose occurrence writes failed.
        """
        tz = self._tz(opened)
        deletes: list[tuple[str, Any]] = []
        updates: list[tuple[str, tuple[Any, list[str]]]] = []
        for master_id, item, current in pairs:
            target = item.recurrence
            if target is None:
                continue
            plan = occurrence_plan(target, current)
            if plan.skipped:
                log.warning(
                    "%s: %d exception(s) on dates the pattern does not produce were left out",
                    item.subject,
                    len(plan.skipped),
                )
            index_of = instance_indexes(target, [*plan.deletes, *(m.original for m in plan.modifies)])
            for day in plan.deletes:
                deletes.append(
                    (master_id, OccurrenceItemId(id=master_id, changekey=None, instance_index=index_of[day]))
                )
            for change in plan.modifies:
                index = index_of[change.original]
                values: dict[str, Any] = {
                    "subject": change.subject or item.subject or None,
                    "location": change.location or item.location or None,
                }
                if change.start is not None and change.end is not None:
                    for key, moment in (("start", change.start), ("end", change.end)):
                        local = moment.astimezone(tz)
                        values[key] = (
                            local if isinstance(local, EWSDateTime) else EWSDateTime.from_datetime(local)
                        )
                xitem = CalendarItem(
                    account=opened.account,
                    folder=self._folder_obj(opened, FolderKind.CALENDAR),
                    _id=OccurrenceItemId(id=master_id, changekey=None, instance_index=index),
                    **values,
                )
                updates.append((master_id, (xitem, list(values))))
        failed: dict[str, MailboxError] = {}
        answers = self._update(opened, [pair for _, pair in updates], ALWAYS_OVERWRITE)
        for (master_id, _), res in zip(updates, answers, strict=True):
            if isinstance(res, Exception):
                failed[master_id] = item_error(res)
        gone = self._call_batch(
            opened,
            BatchDeleteItem,
            items=[occ for _, occ in deletes],
            delete_type=HARD_DELETE,
            send_meeting_cancellations=SEND_TO_NONE,
            affected_task_occurrences=ALL_OCCURRENCES,
            suppress_read_receipts=True,
        )
        for (master_id, _), res in zip(deletes, gone, strict=True):
            if isinstance(res, Exception):
                failed[master_id] = item_error(res)
        return failed

    def _occurrences_after_create(
        self, opened: Opened, chunk: Sequence[Item], results: list[ItemResult[Item] | None]
    ) -> None:
        """Deleted / modified occurrences of new masters (the master exists first, as in Outlook).

        A failure here is logged, not returned: the master exists and gets linked; the next run sees the
        missing exception and writes it again.
        """
        pairs = [
            (r.id, item, None)
            for item, r in zip(chunk, results, strict=True)
            if r is not None
            and r.ok
            and r.id
            and isinstance(item, AppointmentItem)
            and item.recurrence is not None
            and (item.recurrence.deleted_occurrences or item.recurrence.modified_occurrences)
        ]
        for master_id, error in self._write_occurrences(opened, pairs).items():
            log.warning("calendar: occurrences of %s not written: %s", master_id, error)
        keys = self._change_keys(opened, [master_id for master_id, _, _ in pairs])
        for r in results:
            if r is not None and r.id in keys and r.value is not None:
                r.value.change_key = keys[r.id]  # the occurrence writes gave the master a new one

    def _series_before_update(
        self, opened: Opened, kind: FolderKind, chunk: Sequence[Item]
    ) -> dict[str, tuple[bool, Recurrence | None]]:
        """For masters being updated: (send the pattern, the server's series); one GetItem for the chunk."""
        if kind is not FolderKind.CALENDAR:
            return {}
        ids = [i.id for i in chunk if isinstance(i, AppointmentItem) and i.id and i.recurrence is not None]
        out: dict[str, tuple[bool, Recurrence | None]] = {}
        for item_id, current in self._current_series(opened, ids).items():
            item = next(i for i in chunk if i.id == item_id)
            assert isinstance(item, AppointmentItem) and item.recurrence is not None
            plan = occurrence_plan(item.recurrence, current)
            out[item_id] = (current is None or plan.reset, None if current is None or plan.reset else current)
        return out

    def _occurrences_after_update(
        self,
        opened: Opened,
        chunk: Sequence[Item],
        results: list[ItemResult[Item] | None],
        series: dict[str, tuple[bool, Recurrence | None]],
    ) -> None:
        """Write the occurrence changes of updated masters; a failure fails that item (retried next run)."""
        pairs: list[tuple[str, AppointmentItem, Recurrence | None]] = []
        for item, r in zip(chunk, results, strict=True):
            if r is not None and r.ok and item.id in series and isinstance(item, AppointmentItem):
                pairs.append((item.id, item, series[item.id][1]))
        failed = self._write_occurrences(opened, pairs)
        keys = self._change_keys(opened, [item_id for item_id, _, _ in pairs])
        for n, r in enumerate(results):
            if r is None or r.id is None:
                continue
            if r.id in failed:
                results[n] = ItemResult(id=r.id, error=failed[r.id])
            elif r.id in keys and r.value is not None:
                r.value.change_key = keys[r.id]  # the occurrence writes gave the master a new one

    def _change_keys(self, opened: Opened, ids: Sequence[str]) -> dict[str, str]:
        """The masters' change keys after their occurrences were written (one GetItem; none if no ids)."""
        if not ids:
            return {}
        keys: dict[str, str] = {}
        fetched = opened.account.fetch(
            ids=[(i, None) for i in ids],
            folder=self._folder_obj(opened, FolderKind.CALENDAR),
            only_fields=["last_modified_time"],
            chunk_size=self.settings.batch_size,
        )
        for item_id, got in zip(ids, fetched, strict=True):
            if not isinstance(got, Exception) and got.changekey:
                keys[item_id] = got.changekey
        return keys

    def _current_series(self, opened: Opened, ids: Sequence[str]) -> dict[str, Recurrence | None]:
        """The series the server has for ``ids`` (pattern and exceptions), one GetItem."""
        if not ids:
            return {}
        tz = self._tz(opened)
        fetched = opened.account.fetch(
            ids=[(i, None) for i in ids],
            folder=self._folder_obj(opened, FolderKind.CALENDAR),
            only_fields=["recurrence", "modified_occurrences", "deleted_occurrences"],
            chunk_size=self.settings.batch_size,
        )
        return {
            i: (None if isinstance(x, Exception) else series_from_ews(x, tz))
            for i, x in zip(ids, fetched, strict=True)
        }
