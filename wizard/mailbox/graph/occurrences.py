"""The exceptions of a recurring series over Graph: read from ``/instances``, written per instance.

Graph v1.0 lists no exceptions on the master, so a master's deleted and modified occurrences are read from
``/me/events/{id}/instances`` over the pattern's span (a pattern date without an instance was deleted;
``type: exception`` was modified) and written by DELETE / PATCH of the instance. A new recurrence drops all
exceptions, so updates send ``recurrence`` only when it must change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from wizard.errors import Severity
from wizard.mailbox.base import (
    AppointmentItem,
    Conflict,
    FolderKind,
    Item,
    ItemResult,
    MailboxError,
    ModifiedOccurrence,
    OccurrencePlan,
    Recurrence,
    occurrence_plan,
)
from wizard.mailbox.graph.client import GraphConnection, Sub
from wizard.mailbox.graph.recurrence import recurrence_from, recurrence_zone
from wizard.mailbox.graph.values import change_key_of, from_dtz, location_of, parse_dt, to_dtz
from wizard.odata.session import encode_query

log = logging.getLogger(__name__)


_MASTER_SELECT = "id,changeKey,subject,location,start,end,recurrence"
_INSTANCE_SELECT = "id,type,originalStart,start,end,subject,location"
_INSTANCE_PAGE = 200
#: instances are read over the pattern's span plus this much either side (exceptions moved a little)
_SERIES_PAD = timedelta(days=31)
_PREFER_UTC = 'outlook.timezone="UTC"'
#: a series as the server has it: the pattern with its exceptions, and the instance ids by original date
Series = tuple[Recurrence | None, dict[date, str]]


class SeriesInstances(GraphConnection):
    # -- recurring series -------------------------------------------------------------------------
    def _instances_sub(self, master_id: str, pattern: Recurrence) -> Sub | None:
        """The first page of a series' instances over the pattern's whole span (padded for moved exceptions)."""
        dates = pattern.dates()
        if not dates:
            return None
        lo = datetime.combine(dates[0], dtime.min, UTC) - _SERIES_PAD
        hi = datetime.combine(dates[-1], dtime.min, UTC) + timedelta(days=1) + _SERIES_PAD
        query = encode_query(
            {
                "startDateTime": lo.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "endDateTime": hi.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "$select": _INSTANCE_SELECT,
                "$top": str(_INSTANCE_PAGE),
            }
        )
        path = self._item_path(FolderKind.CALENDAR, master_id)
        return Sub("GET", f"{path}/instances?{query}", headers={"Prefer": _PREFER_UTC})

    def _series_of(self, resources: Sequence[Mapping[str, Any]]) -> list[Series | MailboxError]:
        """Deleted and modified occurrences of series masters (their resources as read), one $batch of
        ``/instances`` (first pages; further pages one request each).

        An occurrence date the pattern gives but the instances lack was deleted; an instance of type
        ``exception`` is a modified occurrence. Dates are original dates in the series' zone, as EWS reports.
        """
        out: list[Series | MailboxError | None] = [None] * len(resources)
        subs: list[Sub] = []
        index: list[int] = []
        for n, resource in enumerate(resources):
            pattern = recurrence_from(resource.get("recurrence"))
            sub = self._instances_sub(str(resource.get("id") or ""), pattern) if pattern else None
            if sub is None:
                out[n] = (pattern, {})
                continue
            subs.append(sub)
            index.append(n)
        for n, answer in zip(index, self._batch(subs), strict=True):
            if not answer.ok or not isinstance(answer.body, Mapping):
                out[n] = self._item_failure(answer, "read series")
                continue
            page: Mapping[str, Any] = answer.body
            rows = [r for r in page.get("value") or [] if isinstance(r, Mapping)]
            guard = self._session.page_guard(
                "the occurrences of a recurring appointment", page_size=_INSTANCE_PAGE
            )
            link = page.get("@odata.nextLink")
            while link:
                url = guard.follow(page, self._session.checked_link(str(link), "@odata.nextLink"))
                page = self._get(url, prefer=[_PREFER_UTC])
                rows.extend(r for r in page.get("value") or [] if isinstance(r, Mapping))
                link = page.get("@odata.nextLink")
            out[n] = self._series_from(resources[n], rows)
        return [r for r in out if r is not None]

    def _series_from(self, resource: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> Series:
        pattern = recurrence_from(resource.get("recurrence"))
        if pattern is None:
            return None, {}
        zone = recurrence_zone(resource, self._zone)
        subject = str(resource.get("subject") or "")
        location = location_of(resource)
        dates = pattern.dates()
        produced = set(dates)
        ids: dict[date, str] = {}
        modified: list[ModifiedOccurrence] = []
        for row in rows:
            original = parse_dt(row.get("originalStart"))
            if original is None or not row.get("id"):
                continue
            day = original.astimezone(zone).date()
            if day not in produced:
                continue
            ids[day] = str(row["id"])
            if str(row.get("type") or "").lower() != "exception":
                continue
            start, end = from_dtz(row.get("start")), from_dtz(row.get("end"))
            own_subject, own_location = str(row.get("subject") or ""), location_of(row)
            modified.append(
                ModifiedOccurrence(
                    day,
                    start.astimezone(self._zone) if start else None,
                    end.astimezone(self._zone) if end else None,
                    own_subject if own_subject != subject else None,
                    own_location if own_location != location else None,
                )
            )
        return (
            replace(
                pattern,
                deleted_occurrences=tuple(d for d in dates if d not in ids),
                modified_occurrences=tuple(sorted(modified, key=lambda m: m.original)),
            ),
            ids,
        )

    def _read_series(self, ids: Sequence[str]) -> dict[str, Series | MailboxError]:
        """The series the server has for master ``ids``: one $batch for the masters, one for their instances."""
        if not ids:
            return {}
        prefer = {"Prefer": _PREFER_UTC}
        query = encode_query({"$select": _MASTER_SELECT})
        answers = self._batch(
            [Sub("GET", f"{self._item_path(FolderKind.CALENDAR, i)}?{query}", headers=prefer) for i in ids]
        )
        out: dict[str, Series | MailboxError] = {}
        readable: list[tuple[str, Mapping[str, Any]]] = []
        for item_id, answer in zip(ids, answers, strict=True):
            if answer.ok and isinstance(answer.body, Mapping):
                readable.append((item_id, answer.body))
            else:
                out[item_id] = self._item_failure(answer, "read series")
        for (item_id, _), got in zip(readable, self._series_of([r for _, r in readable]), strict=True):
            out[item_id] = got
        return out

    def _write_occurrences(self, pairs: Sequence[tuple[str, AppointmentItem]]) -> dict[str, MailboxError]:
        """Cancel (DELETE) and change (PATCH) single instances so the masters in ``pairs`` get their items'
        exceptions; instance ids come from a fresh ``/instances`` read. Instances are never given attendees,
        so Exchange sends no meeting request or cancellation. Returns the masters whose writes failed."""
        failed: dict[str, MailboxError] = {}
        fresh = self._read_series([master_id for master_id, _ in pairs])
        subs: list[Sub] = []
        owners: list[str] = []
        for master_id, item in pairs:
            got, target = fresh[master_id], item.recurrence
            if target is None:
                continue
            if isinstance(got, MailboxError):
                failed[master_id] = got
                continue
            current, instance_ids = got
            plan = occurrence_plan(target, current)
            if plan.reset:
                failed[master_id] = Conflict(
                    "the series changed on the server meanwhile", severity=Severity.ITEM
                )
                continue
            left_out = list(plan.skipped)
            for day in plan.deletes:
                if day in instance_ids:
                    subs.append(Sub("DELETE", self._item_path(FolderKind.CALENDAR, instance_ids[day])))
                    owners.append(master_id)
                else:
                    left_out.append(day)
            for change in plan.modifies:
                if change.original not in instance_ids:
                    left_out.append(change.original)
                    continue
                body: dict[str, Any] = {
                    "subject": change.subject or item.subject,
                    "location": {"displayName": change.location or item.location},
                }
                if change.start is not None and change.end is not None:
                    body.update(start=to_dtz(change.start), end=to_dtz(change.end))
                path = self._item_path(FolderKind.CALENDAR, instance_ids[change.original])
                subs.append(Sub("PATCH", path, body))
                owners.append(master_id)
            if left_out:
                log.warning(
                    "%s: %d exception(s) on dates the pattern does not produce were left out",
                    item.subject,
                    len(left_out),
                )
        for master_id, answer in zip(owners, self._batch(subs), strict=True):
            if not answer.ok and master_id not in failed:
                failed[master_id] = self._item_failure(answer, "write occurrences")
        return failed

    def _change_keys(self, ids: Sequence[str]) -> dict[str, str]:
        """The masters' change keys after their instances were written (one $batch; none if no ids)."""
        if not ids:
            return {}
        query = encode_query({"$select": "id,changeKey"})
        answers = self._batch([Sub("GET", f"{self._item_path(FolderKind.CALENDAR, i)}?{query}") for i in ids])
        keys: dict[str, str] = {}
        for item_id, answer in zip(ids, answers, strict=True):
            key = change_key_of(answer.body) if answer.ok and isinstance(answer.body, Mapping) else None
            if key:
                keys[item_id] = key
        return keys

    def _occurrences_after_create(
        self,
        created: Sequence[tuple[int, str]],
        items: Sequence[Item],
        results: list[ItemResult[Item] | None],
    ) -> None:
        """Deleted / modified occurrences of new masters (the master exists first, as in Outlook).

        A failure here is logged, not returned: the master exists and gets linked; the next run sees the
        missing exception and writes it again.
        """
        pairs: list[tuple[str, AppointmentItem]] = []
        for n, item_id in created:
            item = items[n]
            rec = item.recurrence if isinstance(item, AppointmentItem) else None
            if (
                isinstance(item, AppointmentItem)
                and rec
                and (rec.deleted_occurrences or rec.modified_occurrences)
            ):
                pairs.append((item_id, item))
        if not pairs:
            return
        for master_id, error in self._write_occurrences(pairs).items():
            log.warning("calendar: occurrences of %s not written: %s", master_id, error.message)
        keys = self._change_keys([master_id for master_id, _ in pairs])
        for n, item_id in created:
            result = results[n]
            if item_id in keys and result is not None and result.value is not None:
                result.value.change_key = keys[item_id]  # the instance writes gave the master a new one

    def _series_before_update(self, items: Sequence[Item]) -> dict[str, tuple[bool, OccurrencePlan]]:
        """For masters being updated: (send the pattern, the instance writes wanted after the PATCH).

        The pattern is sent only when it differs from the server's or an exception must be taken back
        (a new recurrence drops every exception); one read of the masters and one of their instances.
        """
        wanted = {
            i.id: i.recurrence
            for i in items
            if isinstance(i, AppointmentItem) and i.id and i.recurrence is not None
        }
        out: dict[str, tuple[bool, OccurrencePlan]] = {}
        for item_id, got in self._read_series(list(wanted)).items():
            current = None if isinstance(got, MailboxError) else got[0]
            plan = occurrence_plan(wanted[item_id], current)
            out[item_id] = (current is None or plan.reset, plan)
        return out

    def _occurrences_after_update(
        self,
        items: Sequence[Item],
        results: list[ItemResult[Item] | None],
        plans: Mapping[str, tuple[bool, OccurrencePlan]],
    ) -> None:
        """Write the instance changes of updated masters; a failure fails that item (retried next run)."""
        pairs: list[tuple[str, AppointmentItem]] = []
        for item, result in zip(items, results, strict=True):
            plan = plans[item.id][1] if item.id in plans else None
            if plan is None or not (plan.deletes or plan.modifies):
                continue
            if result is not None and result.ok and isinstance(item, AppointmentItem):
                pairs.append((item.id, item))
        if not pairs:
            return
        failed = self._write_occurrences(pairs)
        keys = self._change_keys([master_id for master_id, _ in pairs])
        for n, result in enumerate(results):
            if result is None or result.id is None:
                continue
            if result.id in failed:
                results[n] = ItemResult(id=result.id, error=failed[result.id])
            elif result.id in keys and result.value is not None:
                result.value.change_key = keys[result.id]  # the instance writes gave the master a new one
