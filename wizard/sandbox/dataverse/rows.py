"""One environment's rows as every Web API request sees them: alternate keys, lookups, an activity's parties."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from wizard.sandbox.dataverse import odata_query as oq
from wizard.sandbox.dataverse.protocol import GUID_RE, NOT_SUPPORTED_CODE, ApiError, Caller, not_found
from wizard.sandbox.dataverse.schema import (
    BY_LOGICAL_NAME,
    ENTITIES,
    PARTY_COLLECTIONS,
    EntityDef,
    Lookup,
)
from wizard.sandbox.dataverse.store import LOOKUP_NAME, Store
from wizard.sandbox.directory import DirectoryOrg


class RowAccess:
    """One environment's rows as every Web API request sees them: keys, lookups, an activity's parties."""

    def __init__(
        self, store: Store, org: DirectoryOrg, base_url: Callable[[], str], tenant_id: str = ""
    ) -> None:
        self.store = store
        self.org = org
        self.tenant_id = tenant_id
        self._base_url = base_url
        self._party_index: dict[str, list[Mapping[str, Any]]] = {}
        self._party_version = -1
        # "business required" (ApplicationRequired) columns are enforced by forms, not by the platform; tests that
        # want the service to refuse a create without them switch this on (docs/sandbox-fidelity.md §1.1)
        self.application_required = False
        self.navigations: dict[str, tuple[Lookup, str]] = {}
        for definition in ENTITIES.values():
            self.navigations.update(definition.navigations)

    @property
    def base_url(self) -> str:
        return self._base_url()

    def key_of(self, definition: EntityDef, key: str) -> str:
        key = key.strip()
        if GUID_RE.match(key):
            return key.lower()
        alternate = re.match(r"^(\w+)='((?:[^']|'')*)'$", key)
        if alternate and alternate.group(1) in definition.columns:
            value = alternate.group(2).replace("''", "'")
            found = self.store.find(definition.entity_set, alternate.group(1), value)
            if found is None:
                raise ApiError(
                    404, f"{definition.logical_name} With Ids = {key} Does Not Exist", "0x80040217"
                )
            return str(found[definition.primary_key])
        raise ApiError(400, f"Bad Request - Error in query syntax. Invalid key '{key}'.", NOT_SUPPORTED_CODE)

    # -- shared helpers used by the request contexts and batch ------------------------------------------------
    def row_or_404(self, definition: EntityDef, row_id: str) -> dict[str, Any]:
        row = self.store.get(definition.entity_set, row_id)
        if row is None:
            raise not_found(definition, row_id)
        return row

    def parties_of(self, activity_id: str) -> list[dict[str, Any]]:
        """The activity's parties, from an index rebuilt only when the store changed since the last call."""
        with self.store.lock:
            if self._party_version != self.store.version:
                index: dict[str, list[Mapping[str, Any]]] = {}
                for row in self.store.raw_rows("activityparties"):
                    index.setdefault(str(row.get("_activityid_value")), []).append(row)
                self._party_index = index
                self._party_version = self.store.version
            return [dict(r) for r in self._party_index.get(str(activity_id), [])]

    def copy_parties(self, master_id: str, instance_id: str, user_id: str | None) -> None:
        """An instance of a series gets the master's parties (as Dataverse copies them)."""
        for old in self.parties_of(instance_id):
            self.store.delete("activityparties", old["activitypartyid"])
        for party in self.parties_of(master_id):
            values = {k: v for k, v in party.items() if k not in ("activitypartyid", "versionnumber")}
            values["_activityid_value"] = instance_id
            values["_activityid_value" + LOOKUP_NAME] = "appointment"
            self.store.create("activityparties", values, user_id=user_id)

    def eval_context(self, caller: Caller) -> oq.EvalContext:
        return oq.EvalContext(
            user_id=caller.systemuserid,
            now=self.store.clock(),
            navigate=self.navigate,
            collection=self._collection,
            business_unit_id=self.org.business_unit_id,
        )

    def navigate(self, row: Mapping[str, Any], nav: str) -> dict[str, Any] | None:
        found = self.navigations.get(nav)
        if found is None:
            return None
        lookup, target = found
        target_id = row.get(lookup.value_name)
        if not target_id or row.get(lookup.value_name + LOOKUP_NAME, target) != target:
            return None
        target_def = BY_LOGICAL_NAME.get(target)
        return self.store.get(target_def.entity_set, str(target_id)) if target_def else None

    def _collection(self, row: Mapping[str, Any], nav: str) -> list[dict[str, Any]]:
        if nav in PARTY_COLLECTIONS or nav == "activitypointer_activity_parties":
            return self.parties_of(str(row.get("activityid")))
        return []
