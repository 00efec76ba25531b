"""The engine's cost-saving decisions in isolation: which listed items need no read after our own writes,
when a table is read in pages instead of by id, and the page-wide correlation look-ups of email tracking."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from wizard.mailbox.base import ChangeBatch, FolderKind, MailItem
from wizard.settings.enums import Kind
from wizard.sync.correlation import EmailRef, root_search_prefix
from wizard.sync.email.lookup import PageLookup
from wizard.sync.records.common import CHUNK, READ_PAGE
from wizard.sync.records.kind import _changed_since_written
from wizard.sync.records.read import KindReader
from wizard.sync.run import RunOptions
from wizard.sync.state import StateDB


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateDB]:
    with StateDB.open(tmp_path / "state.db") as db:
        yield db


def test_items_still_as_we_wrote_them_are_not_read_again(state: StateDB) -> None:
    state.link(Kind.CONTACTS, "c1", "m1", {}, mailbox_change_key="K1")
    state.link(Kind.CONTACTS, "c2", "m2", {}, mailbox_change_key="K2")
    state.link(Kind.CONTACTS, "c3", "m3", {})  # no change key known
    batch = ChangeBatch(
        FolderKind.CONTACTS,
        created=["m1", "new"],
        updated=["m2", "m3"],
        change_keys={"m1": "K1", "m2": "K2-edited", "m3": "K3", "new": "K9"},
    )
    ctx = SimpleNamespace(state=state)
    # m1 unchanged since our write; m2 edited since; m3 unknown; "new" is not ours
    assert _changed_since_written(ctx, "contacts", batch) == ["new", "m2", "m3"]  # type: ignore[arg-type]
    without_keys = ChangeBatch(FolderKind.CONTACTS, created=["m1"], updated=["m2"])
    assert _changed_since_written(ctx, "contacts", without_keys) == ["m1", "m2"]  # type: ignore[arg-type]


class _Crm:
    """Records the queries a row read makes; answers from a table of rows."""

    def __init__(self, rows: Sequence[dict[str, Any]]) -> None:
        self.rows = rows
        self.calls: list[dict[str, Any]] = []

    def query(self, entity_set: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.calls.append({"entity_set": entity_set, **kwargs})
        flt = kwargs.get("filter") or ""
        return iter([r for r in self.rows if not flt or r["contactid"] in flt])


def _ctx(crm: _Crm) -> Any:
    return SimpleNamespace(crm=crm, missing_columns=set(), options=RunOptions(sync_all_addresses=False))


def _ids(n: int) -> list[str]:
    return [f"{k:08x}-0000-4000-8000-000000000000" for k in range(n)]


def test_a_large_scope_is_read_in_pages_of_the_table() -> None:
    table = [{"contactid": i} for i in _ids(3 * CHUNK)]
    crm = _Crm(table)
    scope = [r["contactid"] for r in table[: 2 * CHUNK + 1]]
    rows = KindReader(Kind.CONTACTS).read_rows(_ctx(crm), scope, table_rows=len(table))
    assert [c.get("page_size") for c in crm.calls] == [READ_PAGE]  # one paged read, no id filter
    assert crm.calls[0].get("filter") is None
    assert sorted(r["contactid"] for r in rows) == sorted(scope)  # the rows outside the scope are left out


def test_a_small_scope_or_an_unknown_table_is_read_by_id() -> None:
    table = [{"contactid": i} for i in _ids(3 * CHUNK)]
    scope = [r["contactid"] for r in table[:3]]
    crm = _Crm(table)
    big_table = 10 * READ_PAGE  # ten pages of the table cost more than one query by id
    rows = KindReader(Kind.CONTACTS).read_rows(_ctx(crm), scope, table_rows=big_table)
    assert len(crm.calls) == 1 and "In(" in crm.calls[0]["filter"] and len(rows) == 3
    crm = _Crm(table)
    many = [r["contactid"] for r in table]
    KindReader(Kind.CONTACTS).read_rows(_ctx(crm), many)  # no table size: by id, as before
    assert len(crm.calls) == 3 and all("In(" in c["filter"] for c in crm.calls)


class _Base:
    """A CrmEmails stand-in that counts its queries."""

    def __init__(self, rows: Sequence[dict[str, Any]]) -> None:
        self.rows = rows
        self.calls: list[str] = []

    def rows_by_ids(self, message_ids: Sequence[str], direction: bool | None) -> list[dict[str, Any]]:
        self.calls.append("ids")
        wanted = {m.lower() for m in message_ids}
        return [r for r in self.rows if str(r.get("messageid") or "").lower() in wanted]

    def rows_where(self, flt: str, extra: Sequence[str] = ()) -> list[dict[str, Any]]:
        self.calls.append("roots")
        return [r for r in self.rows if r.get("conversationindex")]

    def by_message_ids(self, message_ids: Sequence[str]) -> list[EmailRef]:
        self.calls.append("by_message_ids")
        return []

    def by_tracking_token(self, token: str) -> list[EmailRef]:
        self.calls.append("by_tracking_token")
        return []

    def by_conversation_root(self, root: bytes) -> list[EmailRef]:
        self.calls.append("by_conversation_root")
        return []


def _mail(n: int, **kwargs: Any) -> MailItem:
    return MailItem(id=f"m{n}", message_id=f"<m{n}@example.com>", **kwargs)


def test_the_page_asks_once_and_sees_its_own_new_emails() -> None:
    import base64

    root = bytes(range(22))
    index = base64.b64encode(root + b"\x01\x02\x03\x04\x05").decode()
    stored = {"activityid": "a0", "messageid": "<Parent@example.com>", "conversationindex": index}
    base = _Base([stored])
    flushed: list[int] = []
    page = PageLookup(base, lambda: flushed.append(1))  # type: ignore[arg-type]
    items = [_mail(1, in_reply_to="<parent@example.com>", conversation_index=index), _mail(2)]
    page.prefetch(items)
    assert base.calls == ["ids", "roots"]  # the page's look-ups: one query each
    assert [r.activityid for r in page.by_message_ids(["<parent@example.com>"])] == ["a0"]
    assert [r.activityid for r in page.by_conversation_root(root)] == ["a0"]
    assert base.calls == ["ids", "roots"] and flushed == []  # answered from the prefetch
    # an email this page decided to create is visible to the messages after it
    page.add(EmailRef(activityid="new", messageid="<m1@example.com>", conversationindex=index))
    assert {r.activityid for r in page.by_conversation_root(root)} == {"a0", "new"}
    page.forget("new")
    assert {r.activityid for r in page.by_conversation_root(root)} == {"a0"}
    # a question the prefetch did not cover: the pending creates are sent first, then the service asked
    page.by_message_ids(["<other@example.com>"])
    page.by_tracking_token("CRM:0001234")
    assert flushed == [1, 1] and base.calls[-2:] == ["by_message_ids", "by_tracking_token"]
    assert root_search_prefix(root) in page.by_root
