"""Typed access to one Dataverse environment over the Web API (``<org url>/api/data/v9.2/``).

Generic row operations (get/create/update/delete/query/fetchXml/$batch/change reads) plus typed getters for
the rows the Configuration Wizard and the sync engine need. All HTTP goes through :class:`ODataSession`.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, overload
from urllib.parse import unquote

import defusedxml.ElementTree as SafeET

from wizard.crm.changes import ChangeSet, read_changes
from wizard.crm.entities import (
    MailboxRecord,
    OrganizationDetail,
    OrganizationSettings,
    SystemUser,
    UserSettings,
    WhoAmI,
)
from wizard.odata import etag as etags
from wizard.odata.batch import (
    MAX_BATCH_REQUESTS,
    BatchItem,
    BatchRequest,
    BatchResult,
    entity_id_from_header,
)
from wizard.odata.errors import NotFoundError, malformed
from wizard.odata.session import ODataSession

API_VERSION = "v9.2"

PAGING_ANNOTATIONS = (
    'odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,'
    'Microsoft.Dynamics.CRM.morerecords"'
)

_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")
_SET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


#: the Web API versions the product can use, newest first: Dynamics 365 online serves v9.2; on premises 9.0 and
#: 9.1 serve only up to their own version (a newer segment is "Resource not found", 404)
API_VERSIONS = ("v9.2", "v9.1", "v9.0")


def service_root(org_url: str, version: str = "") -> str:
    """``https://org.crm4.dynamics.com`` -> ``https://org.crm4.dynamics.com/api/data/v9.2/`` (or ``version``)."""
    return org_url.rstrip("/") + f"/api/data/{version or API_VERSION}/"


def connect_newest(org_url: str, session_for: Callable[[str], ODataSession]) -> tuple[DataverseClient, str]:
    """A client at the newest Web API version the organization answers, and that version, found with WhoAmI
    (so the client's WhoAmI is known already). Online that is the first request; an on-premises 9.0 or 9.1
    server answers 404 to the newer versions, and the next one is tried. Other errors are raised as they are;
    a server that answers no version raises the last 404."""
    last: NotFoundError | None = None
    for version in API_VERSIONS:
        client = DataverseClient(session_for(service_root(org_url, version)))
        try:
            client.whoami()
        except NotFoundError as error:
            last = error
            continue
        return client, version
    assert last is not None
    raise last


def guid(value: str) -> str:
    """A row id fit for a URL key; anything else is refused (no injection into the path)."""
    if not isinstance(value, str) or not _GUID.match(value.strip()):
        raise ValueError(f"not a GUID: {value!r}")
    return value.strip().strip("{}").lower()


def odata_string(value: str) -> str:
    """An OData string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def _entity_set(name: str) -> str:
    if not _SET_NAME.match(name):
        raise ValueError(f"not an entity set name: {name!r}")
    return name


def decode_paging_cookie(annotation: str) -> tuple[int | None, str | None]:
    """``(next page number, paging-cookie value)`` from ``@Microsoft.Dynamics.CRM.fetchxmlpagingcookie``.

    The annotation is ``<cookie pagenumber="2" pagingcookie="%253ccookie ...%253e" istracking="False" />``;
    the inner cookie is URL-encoded twice. The decoded cookie goes into the fetch element's ``paging-cookie``
    attribute (ElementTree escapes it as XML).
    """
    try:
        element = SafeET.fromstring(annotation)
    except Exception:
        return None, None
    number = element.get("pagenumber")
    raw = element.get("pagingcookie")
    cookie = unquote(unquote(raw)) if raw else None
    try:
        page = int(number) if number else None
    except ValueError:
        page = None
    return page, cookie


class DataverseClient:
    """One Dataverse environment for one signed-in user."""

    def __init__(self, session: ODataSession) -> None:
        self.session = session
        self._whoami: WhoAmI | None = None

    def __repr__(self) -> str:
        return f"DataverseClient({self.session.root!r})"

    @property
    def org_url(self) -> str:
        """The environment URL (service root without ``/api/data/vX/``)."""
        return re.sub(r"/api/data/v[0-9.]+/?$", "", self.session.root)

    # -- identity --------------------------------------------------------------------------------------------
    def whoami(self, *, refresh: bool = False) -> WhoAmI:
        if self._whoami is None or refresh:
            self._whoami = WhoAmI.from_row(self.session.get_json("WhoAmI"))
        return self._whoami

    def assume_whoami(self, who: WhoAmI) -> None:
        """Take ``who`` as this client's WhoAmI without asking (kept from an earlier run of the same signed-in
        account: the answer does not change for it)."""
        self._whoami = who

    @property
    def known_whoami(self) -> WhoAmI | None:
        """The WhoAmI read or assumed so far (None: not asked yet)."""
        return self._whoami

    def current_organization(self) -> OrganizationDetail:
        """The organization's friendly and unique names (``RetrieveCurrentOrganization``)."""
        row = self.session.get_json(
            "RetrieveCurrentOrganization(AccessType=Microsoft.Dynamics.CRM.EndpointAccessType'Default')"
        )
        return OrganizationDetail.from_response(row)

    # -- generic rows ----------------------------------------------------------------------------------------
    def get(
        self,
        entity_set: str,
        row_id: str,
        *,
        select: Sequence[str] | None = None,
        expand: str | None = None,
    ) -> dict[str, Any]:
        params: dict[str, str] = {}
        if select:
            params["$select"] = ",".join(select)
        if expand:
            params["$expand"] = expand
        return self.session.get_json(f"{_entity_set(entity_set)}({guid(row_id)})", params=params or None)

    def get_if_changed(
        self, entity_set: str, row_id: str, etag: str, *, select: Sequence[str] | None = None
    ) -> dict[str, Any] | None:
        """The row if its ETag differs from ``etag``; None when unchanged (304)."""
        params = {"$select": ",".join(select)} if select else None
        return self.session.get_if_changed(f"{_entity_set(entity_set)}({guid(row_id)})", etag, params=params)

    @overload
    def create(
        self,
        entity_set: str,
        data: Mapping[str, Any],
        return_representation: Literal[False] = False,
        *,
        select: Sequence[str] | None = None,
    ) -> str: ...

    @overload
    def create(
        self,
        entity_set: str,
        data: Mapping[str, Any],
        return_representation: Literal[True],
        *,
        select: Sequence[str] | None = None,
    ) -> dict[str, Any]: ...

    def create(
        self,
        entity_set: str,
        data: Mapping[str, Any],
        return_representation: bool = False,
        *,
        select: Sequence[str] | None = None,
    ) -> str | dict[str, Any]:
        """Create a row; its id (from ``OData-EntityId``), or the row itself with return_representation."""
        params = {"$select": ",".join(select)} if select and return_representation else None
        response = self.session.request(
            "POST",
            _entity_set(entity_set),
            params=params,
            json=dict(data),
            prefer=["return=representation"] if return_representation else [],
        )
        if return_representation:
            return self.session.decode_json(response)
        row_id = entity_id_from_header(response.headers.get("OData-EntityId"), self.session.root)
        if row_id is None:
            raise malformed(
                "a create answer without OData-EntityId", status=response.status_code, url=response.url
            )
        return row_id

    def update(
        self,
        entity_set: str,
        row_id: str,
        changes: Mapping[str, Any],
        etag: str | None = None,
        *,
        return_representation: bool = False,
    ) -> dict[str, Any] | None:
        """PATCH only the changed columns. ``If-Match`` is the row's ETag (412 if it changed since) or ``*``
        (never create the row by accident: PATCH is an upsert otherwise)."""
        response = self.session.request(
            "PATCH",
            f"{_entity_set(entity_set)}({guid(row_id)})",
            json=dict(changes),
            headers=etags.if_match(etag),
            prefer=["return=representation"] if return_representation else [],
            idempotent=etag is not None,
        )
        return self.session.decode_json(response) if return_representation else None

    def delete(self, entity_set: str, row_id: str, etag: str | None = None) -> None:
        headers = etags.if_match(etag) if etag else None
        self.session.request("DELETE", f"{_entity_set(entity_set)}({guid(row_id)})", headers=headers)

    def query(
        self,
        entity_set: str,
        *,
        select: Sequence[str] | None = None,
        filter: str | None = None,
        orderby: str | None = None,
        top: int | None = None,
        expand: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Rows of an OData query, lazily across pages (``Prefer: odata.maxpagesize``)."""
        params: list[tuple[str, str]] = []
        if select:
            params.append(("$select", ",".join(select)))
        if filter:
            params.append(("$filter", filter))
        if orderby:
            params.append(("$orderby", orderby))
        if top is not None:
            params.append(("$top", str(int(top))))
        if expand:
            params.append(("$expand", expand))
        rows = self.session.iter_rows(_entity_set(entity_set), params=params or None, page_size=page_size)
        if top is None:
            return rows
        return _limit(rows, top)  # $top is ignored by the service when maxpagesize is sent too

    def fetch(
        self, entity_set: str, fetchxml: str, *, page_size: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Rows of a FetchXML query, following ``morerecords`` with page number and paging cookie."""
        root = SafeET.fromstring(fetchxml)
        if root.tag != "fetch":
            raise ValueError("FetchXML must have a <fetch> root element")
        return self._fetch_pages(_entity_set(entity_set), root, page_size)

    def _fetch_pages(
        self, entity_set: str, root: ET.Element, page_size: int | None
    ) -> Iterator[dict[str, Any]]:
        if page_size and not root.get("top"):
            root.set("count", str(int(page_size)))
        paged = root.get("top") is None and root.get("aggregate") not in ("true", "1")
        page = int(root.get("page") or 1)
        guard = self.session.page_guard(entity_set, page_size=page_size)
        while True:
            if paged:
                root.set("page", str(page))
            xml = ET.tostring(root, encoding="unicode")
            document = self.session.get_json(
                entity_set, params={"fetchXml": xml}, prefer=[PAGING_ANNOTATIONS]
            )
            yield from document.get("value") or []
            if not paged or not document.get("@Microsoft.Dynamics.CRM.morerecords"):
                return
            cookie_annotation = document.get("@Microsoft.Dynamics.CRM.fetchxmlpagingcookie")
            next_page, cookie = (
                decode_paging_cookie(str(cookie_annotation)) if cookie_annotation else (None, None)
            )
            page = next_page if next_page and next_page > page else page + 1
            guard.follow(document, f"{entity_set}?page={page}")  # a server that always has "more records"
            if cookie:
                root.set("paging-cookie", cookie)
            elif "paging-cookie" in root.attrib:
                del root.attrib["paging-cookie"]

    def batch(self, items: Sequence[BatchItem], *, continue_on_error: bool = True) -> list[BatchResult]:
        return self.session.batch(items, continue_on_error=continue_on_error)

    def create_many(
        self, rows: Sequence[tuple[str, Mapping[str, Any]]], *, max_requests: int = MAX_BATCH_REQUESTS
    ) -> list[BatchResult]:
        """Create ``(entity set, row)`` pairs through ``$batch``, up to ``max_requests`` rows a request.

        Each row is its own request, sent with ``odata.continue-on-error``: a row the service refuses fails
        alone (its result carries the error), the others are created. One result per row, in order. A
        transport failure raises (the outcome of that request is then unknown: callers choose row ids
        themselves so they can look the rows up).
        """
        items: list[BatchItem] = [
            BatchRequest("POST", _entity_set(entity_set), body=dict(row)) for entity_set, row in rows
        ]
        return self.session.batch(items, continue_on_error=True, max_requests=max_requests)

    def update_many(
        self,
        rows: Sequence[tuple[str, str, Mapping[str, Any], str | None]],
        *,
        max_requests: int = MAX_BATCH_REQUESTS,
    ) -> list[BatchResult]:
        """PATCH ``(entity set, row id, changes, etag)`` rows through ``$batch``, as :meth:`update` does one:
        ``If-Match`` on the ETag (a row changed since fails alone with 412) or ``*`` (never an upsert).
        One result per row, in order; a refused row fails alone (``odata.continue-on-error``)."""
        items: list[BatchItem] = [
            BatchRequest(
                "PATCH",
                f"{_entity_set(entity_set)}({guid(row_id)})",
                body=dict(changes),
                headers=etags.if_match(etag),
            )
            for entity_set, row_id, changes, etag in rows
        ]
        return self.session.batch(items, continue_on_error=True, max_requests=max_requests)

    def read_changes(
        self, entity_set: str, select: Sequence[str], token: str | None, *, page_size: int | None = None
    ) -> ChangeSet:
        """Changes since ``token`` (None = first read); see :func:`wizard.crm.changes.read_changes`."""
        return read_changes(self, entity_set, select, token, page_size=page_size)

    # -- typed getters ---------------------------------------------------------------------------------------
    def user(self, user_id: str) -> SystemUser:
        return SystemUser.from_row(self.get(SystemUser.SET, user_id, select=SystemUser.SELECT))

    def current_user(self) -> SystemUser:
        return self.user(self.whoami().user_id)

    def user_settings(self, user_id: str | None = None) -> UserSettings:
        user_id = user_id or self.whoami().user_id
        return UserSettings.from_row(self.get(UserSettings.SET, user_id, select=UserSettings.SELECT))

    def organization_settings(self) -> OrganizationSettings:
        for row in self.query(OrganizationSettings.SET, select=OrganizationSettings.SELECT):
            return OrganizationSettings.from_row(row)
        raise NotFoundError(
            "No organization row", status=404, user_text="The organization settings are missing."
        )

    def user_mailbox(self, user_id: str | None = None) -> MailboxRecord | None:
        """The user's mailbox record (Dataverse allows one per user), or None if the user has none."""
        user_id = guid(user_id or self.whoami().user_id)
        rows = list(
            self.query(
                MailboxRecord.SET,
                select=MailboxRecord.SELECT,
                filter=f"_regardingobjectid_value eq {user_id}",
            )
        )
        return MailboxRecord.from_row(rows[0]) if rows else None

    def find_mailboxes_by_address(self, address: str) -> list[MailboxRecord]:
        """Mailbox records whose emailaddress equals ``address`` (the service compares case-insensitively)."""
        rows = self.query(
            MailboxRecord.SET,
            select=MailboxRecord.SELECT,
            filter=f"emailaddress eq {odata_string(address.strip())}",
        )
        return [MailboxRecord.from_row(row) for row in rows]

    def mailbox(self, mailbox_id: str) -> MailboxRecord:
        return MailboxRecord.from_row(self.get(MailboxRecord.SET, mailbox_id, select=MailboxRecord.SELECT))


def _limit(rows: Iterable[dict[str, Any]], top: int) -> Iterator[dict[str, Any]]:
    for count, row in enumerate(rows):
        if count >= top:
            return
        yield row


def new_id() -> str:
    """A client-generated row id (Dataverse accepts a primary key on create)."""
    return str(uuid.uuid4())
