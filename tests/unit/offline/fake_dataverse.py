"""A tiny in-memory Dataverse for the replay tests: rows per entity set, versions as weak ETags, If-Match,
client-supplied keys (0x80040237 when the key exists), duplicate detection by email (0x80040333 unless
``MSCRM.SuppressDuplicateDetection`` is absent or true), ``$batch`` results as the product's BatchResult."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from wizard.odata.batch import BatchItem, BatchRequest, BatchResult, ChangeSet
from wizard.odata.errors import error_for_status
from wizard.offline.tables import TABLES

_KEYED = re.compile(r"^(\w+)\(([0-9a-f-]{36})\)")
SETS = {t.entity_set: t for t in TABLES}


class FakeDataverse:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in SETS}
        self.version = 0
        self.batches = 0
        self.fail_after_apply = False  # the answer of the next batch is lost (a transport failure)

    # -- the server's own edits ----------------------------------------------------------------------------
    def _stamp(self, row: dict[str, Any]) -> None:
        self.version += 1
        row["@odata.etag"] = f'W/"{self.version}"'
        row["modifiedon"] = f"2026-12-08T00:{self.version // 60 % 60:02d}:{self.version % 60:02d}Z"

    def put(self, entity_set: str, row_id: str, **fields: Any) -> dict[str, Any]:
        spec = SETS[entity_set]
        row = {spec.primary_id: row_id, **{name: None for name in spec.fields}, **fields}
        self._stamp(row)
        self.rows[entity_set][row_id] = row
        return row

    def edit(self, entity_set: str, row_id: str, **fields: Any) -> None:
        row = self.rows[entity_set][row_id]
        row.update(fields)
        self._stamp(row)

    # -- $batch --------------------------------------------------------------------------------------------
    def batch(self, items: Sequence[BatchItem], *, continue_on_error: bool = True) -> list[BatchResult]:
        self.batches += 1
        results: list[BatchResult] = []
        for item in items:
            for request in item.requests if isinstance(item, ChangeSet) else [item]:
                results.append(self._one(request))
        if self.fail_after_apply:
            self.fail_after_apply = False
            raise ConnectionError("the answer was lost")
        return results

    def _error(self, request: BatchRequest, status: int, code: str, message: str) -> BatchResult:
        return BatchResult(request, status, {}, None, error_for_status(status, code=code, message=message))

    def _one(self, request: BatchRequest) -> BatchResult:
        path = request.url.split("?", 1)[0]
        keyed = _KEYED.match(path)
        entity_set = keyed.group(1) if keyed else path
        spec = SETS[entity_set]
        table = self.rows[entity_set]
        if request.method == "POST":
            body = self._fields(spec, request.body)
            row_id = str(body.get(spec.primary_id) or uuid.uuid4())
            if row_id in table:
                return self._error(
                    request, 412, "0x80040237", "A record with matching key values already exists."
                )
            email = body.get("emailaddress1")
            detect = request.headers.get("MSCRM.SuppressDuplicateDetection") == "false"
            if detect and email and any(r.get("emailaddress1") == email for r in table.values()):
                return self._error(request, 412, "0x80040333", "A record was not created: duplicate.")
            created = self.put(entity_set, row_id, **body)
            return BatchResult(request, 201, {"ETag": created["@odata.etag"]}, dict(created))
        assert keyed is not None
        row_id = keyed.group(2)
        row = table.get(row_id)
        if row is None:
            return self._error(request, 404, "0x80040217", "Does not exist.")
        match = request.headers.get("If-Match")
        if request.method in ("PATCH", "DELETE") and match not in (None, "*", row["@odata.etag"]):
            return self._error(
                request, 412, "0x80060882", "The version of the existing record doesn't match."
            )
        if request.method == "GET":
            return BatchResult(request, 200, {}, dict(row))
        if request.method == "DELETE":
            del table[row_id]
            return BatchResult(request, 204, {}, None)
        self.edit(entity_set, row_id, **self._fields(spec, request.body))
        return BatchResult(request, 200, {}, dict(row))

    @staticmethod
    def _fields(spec: Any, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in body.items():
            if name.endswith("@odata.bind"):
                nav = name[: -len("@odata.bind")]
                for lookup in spec.lookups:
                    for target, navigation in lookup.targets.items():
                        if navigation == nav:
                            out[lookup.value_name] = (
                                None if value is None else value.rsplit("(", 1)[1].rstrip(")")
                            )
                            out[lookup.value_name + "@Microsoft.Dynamics.CRM.lookuplogicalname"] = (
                                None if value is None else target
                            )
            else:
                out[name] = value
        return out
