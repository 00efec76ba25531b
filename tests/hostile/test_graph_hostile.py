"""The Graph mailbox store against a hostile HTTPS server (issue 11, items 1, 10 and 11 for Graph's own loops).

The server stands in for Microsoft Graph at ``https://127.0.0.1:PORT/v1.0``: a delta listing or a series'
``/instances`` whose nextLink points to itself must stop with a clear error instead of running for ever; a
stored delta cursor that leads to another server is refused and the full re-read is reported; a JSON
``$batch`` of message contents larger than the session's cap for one answer is still read.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.hostile import HostileHandler, HostileServer, Seen, json_body, self_next
from wizard.errors import Severity
from wizard.mailbox.base import FolderKind, MailboxError, MailItem, ProtocolError
from wizard.mailbox.graph import GraphSettings, GraphStore

ANNA = "anna.schmidt@contoso.com"


class Tokens:
    def token(self, *, force_refresh: bool = False) -> str:
        return "hostile-test-token"


def _store(server: HostileServer, **overrides: Any) -> GraphStore:
    values: dict[str, Any] = {
        "address": ANNA,
        "graph_url": server.url + "/v1.0",
        "ca_file": str(server.ca_file),
        "max_wait": 1.0,
        "timeout": 10.0,
    }
    values.update(overrides)
    return GraphStore(GraphSettings(**values), token_provider=Tokens())


def test_a_delta_nextlink_to_itself_stops_the_listing(hostile: HostileServer) -> None:
    hostile.on("GET", "/v1.0/me/mailFolders/inbox/messages/delta", self_next())
    store = _store(hostile)
    try:
        pages = 0
        with pytest.raises(MailboxError) as caught:
            for _ in store.changes(FolderKind.INBOX, None, 10):
                pages += 1
                assert pages < 50, "the self-pointing nextLink was followed on and on"
    finally:
        store.close()
    assert caught.value.severity is Severity.KIND
    assert "loop" in caught.value.user_text
    assert len(hostile.requests) <= 3


def test_a_series_instances_nextlink_to_itself_stops(hostile: HostileServer) -> None:
    loop = f"{hostile.url}/v1.0/me/events/M1/instances?page=2"
    first_page = {"value": [], "@odata.nextLink": loop}
    hostile.on(
        "POST", "/v1.0/$batch", json_body({"responses": [{"id": "0", "status": 200, "body": first_page}]})
    )
    hostile.on("GET", "/v1.0/me/events/M1/instances", self_next())
    master = {
        "id": "M1",
        "type": "seriesMaster",
        "subject": "Stand-up",
        "start": {"dateTime": "2027-03-01T08:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2027-03-01T08:15:00", "timeZone": "UTC"},
        "recurrence": {
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2027-03-01", "numberOfOccurrences": 5},
        },
    }
    store = _store(hostile)
    try:
        with pytest.raises(MailboxError) as caught:
            store._call("read calendar", lambda: store._series_of([master]))
    finally:
        store.close()
    assert caught.value.severity is Severity.KIND and "loop" in caught.value.user_text
    assert len([s for s in hostile.requests if s.method == "GET"]) <= 3


def test_a_stored_cursor_to_another_server_is_refused_and_reported(
    hostile_pair: tuple[HostileServer, HostileServer],
) -> None:
    graph, foreign = hostile_pair
    delta = f"{graph.url}/v1.0/me/mailFolders/inbox/messages/delta?$deltatoken=1"
    graph.on(
        "GET",
        "/v1.0/me/mailFolders/inbox/messages/delta",
        json_body(
            {"value": [{"id": "A1", "createdDateTime": "2026-11-01T00:00:00Z"}], "@odata.deltaLink": delta}
        ),
    )
    store = _store(graph)
    try:
        cursor = store._encode_cursor(
            FolderKind.INBOX, f"https://localhost:{foreign.port}/v1.0/me/messages/delta?x=1", "", ""
        )
        (batch,) = list(store.changes(FolderKind.INBOX, cursor, 10))
    finally:
        store.close()
    assert foreign.requests == []
    assert batch.full_resync and batch.created == ["A1"]
    assert "another server" in batch.notice and "read again" in batch.notice


def _mime(n: int, size: int) -> bytes:
    body = ("x" * 76 + "\r\n") * (size // 78)
    return (
        f"From: a@fabrikam.example\r\nTo: {ANNA}\r\nSubject: message {n}\r\nMessage-ID: <m{n}@fabrikam.example>\r\n"
        "Content-Type: text/plain\r\n\r\n"
    ).encode() + body.encode()


def _batch_answers(sizes: dict[str, int]) -> Callable[[HostileHandler, Seen], None]:
    """Answers every request of a $batch: the message resource, or its MIME content in base64."""

    def behave(handler: HostileHandler, seen: Seen) -> None:
        responses = []
        for request in json.loads(seen.body)["requests"]:
            item_id = request["url"].split("/")[3].split("?")[0]
            if request["url"].split("?")[0].endswith("/$value"):
                content = base64.b64encode(_mime(int(item_id[1:]), sizes[item_id])).decode()
                responses.append({"id": request["id"], "status": 200, "body": content})
            else:
                resource = {"id": item_id, "changeKey": "ck", "isRead": False, "categories": []}
                responses.append({"id": request["id"], "status": 200, "body": resource})
        json_body({"responses": responses})(handler, seen)

    return behave


def test_a_message_batch_larger_than_the_session_cap_is_read(hostile: HostileServer) -> None:
    """Ten messages near the size limit make an answer larger than the session's cap for one answer (here
    200 KB for a 64 KB size limit, as 256 MiB is for 25 MiB): the message batch gets a cap of its own."""
    sizes = {f"m{n}": 60_000 for n in range(10)}
    hostile.on("POST", "/v1.0/$batch", _batch_answers(sizes))
    store = _store(hostile, size_limit=64 * 1024)
    store._session.max_response_bytes = 200_000
    try:
        results = store.get_many(FolderKind.INBOX, list(sizes))
    finally:
        store.close()
    assert [r.error for r in results] == [None] * 10
    assert all(isinstance(r.value, MailItem) for r in results)
    assert len(hostile.requests) == 1
    assert store._session.max_response_bytes == 200_000  # the session's own cap is back


def test_a_batch_with_a_message_over_the_size_limit_is_read_one_at_a_time(hostile: HostileServer) -> None:
    sizes = {f"m{n}": 20_000 for n in range(4)}
    sizes["m4"] = 6_000_000  # far over the 64 KB size limit: its batch exceeds the batch cap
    hostile.on("POST", "/v1.0/$batch", _batch_answers(sizes))
    store = _store(hostile, size_limit=64 * 1024)
    store._session.max_response_bytes = 200_000
    try:
        results = store.get_many(FolderKind.INBOX, list(sizes))
    finally:
        store.close()
    assert [r.error for r in results] == [None] * 5
    big = results[4].value
    assert isinstance(big, MailItem) and big.subject == "message 4" and big.truncated
    assert len(hostile.requests) == 1 + 5  # the batch, then each message alone


def test_refused_links_keep_their_severity_through_translation() -> None:
    from wizard.mailbox.graph.errors import translate
    from wizard.odata.errors import PagingLoopError

    error = translate(PagingLoopError("loop", url="https://x/", user_text="a loop"), "changes")
    assert isinstance(error, ProtocolError) and error.severity is Severity.KIND and not error.retriable
