"""Contacts, events and To Do tasks: one collection CRUD (create, read, PATCH with If-Match, delete) with open and
single-value extended properties; the To Do list and its tasks."""

from __future__ import annotations

import uuid

from wizard.sandbox.graph.delta import DeltaRequests
from wizard.sandbox.graph.mime import recipient
from wizard.sandbox.graph.protocol import GraphError, Reply, Request
from wizard.sandbox.graph.store import (
    Entry,
    Mailbox,
)


class ItemRequests(DeltaRequests):
    """``/me/contacts``, ``/me/events``, ``/me/calendar/events``, ``/me/todo/lists/…``."""

    # -- contacts, events, tasks ---------------------------------------------------------------------------
    def _items(self, box: Mailbox, req: Request, collection: str, rest: list[str]) -> Reply:
        if rest == ["delta"]:
            if collection == "events":
                raise GraphError(
                    400,
                    "ErrorInvalidUrlQuery",
                    "Change tracking of events is only offered on calendarView in v1.0.",
                )
            return self._delta(box, req, collection)
        if not rest:
            if req.method == "GET":
                return self._list(box, req, collection)
            if req.method == "POST":
                return self._create(box, req, collection)
            raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")
        if collection == "events":
            occurrence = self._occurrence_of(box, rest[0])
            if occurrence is not None:
                return self._occurrence(box, req, occurrence[0], occurrence[1], rest[1:])
            if rest[1:] == ["instances"]:
                if req.method != "GET":
                    raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")
                return self._instances(box, req, self._entry(box, rest[0], ("events",)))
        entry = self._entry(box, rest[0], (collection,))
        if rest[1:] == ["permanentDelete"] and collection != "tasks":
            if req.method != "POST":
                raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")
            self.data.delete(box, entry)
            return Reply(204)
        if len(rest) >= 2 and rest[1].lower() == "extensions" and collection == "tasks":
            return self._extension(box, req, entry, rest[2:])
        if len(rest) > 1:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[1]}'.")
        if req.method == "GET":
            return Reply(200, self._render(box, entry, req))
        if req.method == "PATCH":
            self._check_if_match(req, entry)
            document = req.json()
            ext = self._ext_from(document)
            fields = self._validated(collection, document)
            if collection == "events" and "recurrence" in fields:
                self._check_recurrence(fields["recurrence"])
                # a new recurrence regenerates the series: its exceptions and cancellations are gone
                entry.exceptions.clear()
                entry.cancelled.clear()
            entry.resource.update(fields)
            entry.ext.update(ext)
            if collection == "events":
                entry.resource["type"] = (
                    "seriesMaster" if entry.resource.get("recurrence") else "singleInstance"
                )
                if entry.resource.get("attendees"):
                    self._invite(box, entry.resource)
            self.data.touch(box, entry)
            return Reply(200, self._render(box, entry, req))
        if req.method == "DELETE":
            self.data.delete(box, entry)
            return Reply(204)
        raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")

    def _todo(self, box: Mailbox, req: Request, rest: list[str]) -> Reply:
        default = {
            "@odata.etag": 'W/"list"', "id": box.task_list_id, "displayName": "Tasks",
            "isOwner": True, "isShared": False, "wellknownListName": "defaultList",
        }  # fmt: skip
        if not rest:
            if req.method != "GET":
                raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")
            return Reply(
                200,
                {"@odata.context": f"{self.url}/$metadata#users('{box.oid}')/todo/lists", "value": [default]},
            )
        if rest[0] != box.task_list_id:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if len(rest) == 1:
            return Reply(200, default)
        if rest[1] != "tasks":
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{rest[1]}'.")
        return self._items(box, req, "tasks", rest[2:])

    def _extension(self, box: Mailbox, req: Request, entry: Entry, rest: list[str]) -> Reply:
        if not rest:
            if req.method == "GET":
                return Reply(
                    200, {"value": [self._render_extension(n, v) for n, v in entry.extensions.items()]}
                )
            if req.method != "POST":
                raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")
            document = req.json()
            name = str(document.get("extensionName") or "")
            if "openTypeExtension" not in str(document.get("@odata.type", "")) or not name:
                raise GraphError(
                    400,
                    "InvalidRequest",
                    "An open extension needs @odata.type microsoft.graph.openTypeExtension and an extensionName.",
                )
            if name in entry.extensions:
                raise GraphError(409, "NameAlreadyExists", "An extension with this name already exists.")
            entry.extensions[name] = {
                k: v
                for k, v in document.items()
                if not k.startswith("@") and k not in ("extensionName", "id")
            }
            self.data.touch(box, entry)
            return Reply(201, self._render_extension(name, entry.extensions[name]))
        name = rest[0]
        if name not in entry.extensions:
            raise GraphError(404, "ErrorItemNotFound", f"The extension '{name}' was not found.")
        if req.method == "GET":
            return Reply(200, self._render_extension(name, entry.extensions[name]))
        if req.method == "PATCH":
            document = req.json()
            entry.extensions[name].update(
                {
                    k: v
                    for k, v in document.items()
                    if not k.startswith("@") and k not in ("extensionName", "id")
                }
            )
            self.data.touch(box, entry)
            return Reply(200, self._render_extension(name, entry.extensions[name]))
        if req.method == "DELETE":
            del entry.extensions[name]
            self.data.touch(box, entry)
            return Reply(204)
        raise GraphError(405, "ErrorInvalidRequest", "Method not allowed.")

    def _create(self, box: Mailbox, req: Request, collection: str) -> Reply:
        document = req.json()
        ext = self._ext_from(document)
        fields = self._validated(collection, document)
        if collection == "events":
            if not fields.get("start") or not fields.get("end"):
                raise GraphError(
                    400,
                    "ErrorInvalidRequest",
                    "Your request can't be completed. An event needs a start and an end.",
                )
            user = self.user_of(box)
            fields["organizer"] = recipient(user.full_name if user else box.display_name, box.address)
            fields["iCalUId"] = "040000008200E00074C5B7101A82E008" + uuid.uuid4().hex.upper()
            self._check_recurrence(fields.get("recurrence"))
            fields["type"] = "seriesMaster" if fields.get("recurrence") else "singleInstance"
            # the zones the event was created in (event resource: originalStartTimeZone, originalEndTimeZone)
            fields["originalStartTimeZone"] = str(fields["start"].get("timeZone") or "UTC")
            fields["originalEndTimeZone"] = str(fields["end"].get("timeZone") or "UTC")
            fields.setdefault("isCancelled", False)
            fields["isOrganizer"] = True
            if fields.get("attendees"):
                self._invite(box, fields)
        if collection == "contacts" and not fields.get("displayName"):
            # "Create contact": the request sends givenName and surname only, the answer has
            # "displayName": "Pavel Bansky" — Outlook composes it from the name parts
            parts = (fields.get(name) for name in ("givenName", "middleName", "surname"))
            fields["displayName"] = " ".join(str(part) for part in parts if part)
        if collection == "tasks":
            fields.setdefault("status", "notStarted")
            fields.setdefault("importance", "normal")
        entry = self.data.insert(box, collection, fields, ext=ext)
        return Reply(201, self._render(box, entry, req))
