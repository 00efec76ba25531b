"""Recurring events: validating ``recurrence``, addressing an occurrence, and deriving a master's instances
(occurrences and exceptions, cancelled ones left out) with :mod:`.instances`."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

from wizard.sandbox.graph import instances
from wizard.sandbox.graph.base import ServiceBase
from wizard.sandbox.graph.instances import PatternError
from wizard.sandbox.graph.protocol import GraphError, Reply, Request, not_found
from wizard.sandbox.graph.store import (
    Entry,
    Mailbox,
    new_change_key,
)
from wizard.sandbox.graph.times import graph_time, time_window, zone_or_utc


class EventRequests(ServiceBase):
    """Series masters, their instances, exceptions and cancelled occurrences."""

    # -- recurring series -----------------------------------------------------------------------------------
    @staticmethod
    def _check_recurrence(value: Any) -> None:
        try:
            instances.validate(value)
        except (PatternError, TypeError, ValueError) as exc:
            raise GraphError(400, "ErrorInvalidRequest", f"The recurrence is not valid: {exc}") from exc

    def _occurrence_of(self, box: Mailbox, item_id: str) -> tuple[Entry, date] | None:
        """(master, original date) for an instance id; None for ids that are not instance ids."""
        if self.data.get(box, item_id, ("events",)) is not None:
            return None
        parsed = instances.parse_occurrence_id(item_id)
        if parsed is None:
            return None
        master = self.data.get(box, parsed[0], ("events",))
        if master is None or not master.resource.get("recurrence"):
            raise not_found()
        day = parsed[1]
        if day.isoformat() in master.cancelled or day not in instances.pattern_dates(
            master.resource["recurrence"], until=day
        ):
            raise not_found()
        return master, day

    def _instance_entry(self, master: Entry, day: date) -> Entry:
        """The instance on ``day`` as an entry of its own (never stored): the master's values, the pattern's
        times, then the exception's own values."""
        resource = copy.deepcopy(master.resource)
        start = graph_time(resource.get("start"))
        end = graph_time(resource.get("end"))
        assert start is not None and end is not None
        begin, finish = instances.occurrence_times(resource, day, start, end)
        zone_name = str((resource.get("start") or {}).get("timeZone") or "UTC")
        zone = zone_or_utc(zone_name)
        exception = master.exceptions.get(day.isoformat())
        resource.update(
            {
                "recurrence": None,
                "type": "exception" if exception else "occurrence",
                "seriesMasterId": master.id,
                "originalStart": begin.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "originalStartTimeZone": zone_name,
                "start": {"dateTime": begin.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_name},
                "end": {"dateTime": finish.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_name},
            }
        )  # fmt: skip
        change_key = master.change_key
        if exception:
            resource.update(copy.deepcopy(exception["fields"]))
            change_key = str(exception["changeKey"])
        return Entry(
            id=instances.occurrence_id(master.id, day),
            collection="events",
            resource=resource,
            seq=master.seq,
            change_key=change_key,
            ext=master.ext,
            created=master.created,
            modified=master.modified,
        )

    def _instance_entries(self, master: Entry, lo: datetime, hi: datetime) -> list[Entry]:
        """Occurrences and exceptions of a series that overlap ``[lo, hi)``, by start; cancelled ones are absent."""
        out: list[tuple[datetime, Entry]] = []
        first = graph_time(master.resource.get("start"))
        last = graph_time(master.resource.get("end"))
        if first is None or last is None:
            return []
        for day in instances.pattern_dates(master.resource["recurrence"]):
            if day.isoformat() in master.cancelled:
                continue
            if day.isoformat() not in master.exceptions:  # cheap test first: most dates are plain occurrences
                begin, finish = instances.occurrence_times(master.resource, day, first, last)
                if not (begin < hi and finish > lo):
                    continue
            instance = self._instance_entry(master, day)
            start = graph_time(instance.resource.get("start"))
            end = graph_time(instance.resource.get("end"))
            if start is not None and end is not None and start < hi and end > lo:
                out.append((start, instance))
        out.sort(key=lambda pair: pair[0])
        return [instance for _, instance in out]

    def _instances(self, box: Mailbox, req: Request, master: Entry) -> Reply:
        """``GET /me/events/{id}/instances?startDateTime=&endDateTime=``: the series' instances in the window."""
        lo, hi = time_window(req)
        if not master.resource.get("recurrence"):
            return Reply(200, {"value": []})
        return self._paged(box, req, self._instance_entries(master, lo, hi))

    def _calendar_view(self, box: Mailbox, req: Request) -> Reply:
        """``GET /me/calendarView?startDateTime=&endDateTime=``: single events, occurrences and exceptions that
        overlap the window (never a series master), by start; paged like every list."""
        lo, hi = time_window(req)
        found: list[tuple[datetime, Entry]] = []
        for entry in self.data.items(box, "events"):
            if entry.resource.get("recurrence"):
                for instance in self._instance_entries(entry, lo, hi):
                    start = graph_time(instance.resource.get("start"))
                    assert start is not None  # _instance_entries keeps only instances with times
                    found.append((start, instance))
                continue
            start, end = graph_time(entry.resource.get("start")), graph_time(entry.resource.get("end"))
            if start is not None and end is not None and start < hi and end > lo:
                found.append((start, entry))
        found.sort(key=lambda pair: pair[0])
        return self._paged(box, req, [entry for _, entry in found])

    def _occurrence(self, box: Mailbox, req: Request, master: Entry, day: date, rest: list[str]) -> Reply:
        """GET / PATCH / DELETE one instance: a PATCH makes it an exception, a DELETE cancels it."""
        if rest:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[0]}'.")
        instance = self._instance_entry(master, day)
        if req.method == "GET":
            return Reply(200, self._render(box, instance, req))
        meeting = bool(master.resource.get("attendees"))
        if req.method == "PATCH":
            self._check_if_match(req, instance)
            document = req.json()
            self._ext_from(document)  # extended properties live on the master; an instance's are ignored
            fields = self._validated("events", document)
            if "recurrence" in fields:
                raise GraphError(
                    400,
                    "ErrorInvalidRequest",
                    "The recurrence of an occurrence or exception cannot be changed.",
                )
            exception = master.exceptions.setdefault(day.isoformat(), {"fields": {}, "changeKey": ""})
            exception["fields"].update(fields)
            exception["changeKey"] = new_change_key()
            if meeting or fields.get("attendees"):
                self._invite(box, {**master.resource, **exception["fields"]})
            self.data.touch(box, master)  # the exception is stored in the master
            return Reply(200, self._render(box, self._instance_entry(master, day), req))
        if req.method == "DELETE":
            master.exceptions.pop(day.isoformat(), None)
            master.cancelled.add(day.isoformat())
            if meeting:
                self.cancellations.append(
                    (box.address, str(master.resource.get("subject") or ""), day.isoformat())
                )
            self.data.touch(box, master)
            self.data.removed(box, "events", instance.id)
            return Reply(204)
        raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")
