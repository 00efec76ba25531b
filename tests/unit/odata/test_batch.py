"""$batch: building, splitting, parsing Microsoft's sample responses, mapping answers to requests."""

from __future__ import annotations

import pytest

from tests.unit.odata.replay import ReplayServer
from wizard.errors import Severity
from wizard.odata import (
    BatchAbortedError,
    BatchItem,
    BatchRequest,
    ChangeSet,
    FailFast,
    ODataSession,
    ValidationError,
)
from wizard.odata.batch import (
    BatchPart,
    build_batch,
    count_requests,
    map_results,
    parse_batch_response,
    split_batches,
)


def _tasks(n: int) -> list[BatchRequest]:
    return [BatchRequest("POST", "tasks", {"subject": f"Task {i} in batch"}) for i in range(1, n + 1)]


def test_build_batch_shape() -> None:
    items: list[BatchItem] = [
        ChangeSet(_tasks(3)),
        BatchRequest("GET", "tasks?$select=subject&$filter=contains(subject,'batch')"),
    ]
    content_type, body = build_batch(
        items, "https://org.crm.dynamics.com/api/data/v9.2/", boundary="batch_AAA"
    )
    text = body.decode()
    assert content_type == 'multipart/mixed; boundary="batch_AAA"'
    assert text.startswith('--batch_AAA\r\nContent-Type: multipart/mixed; boundary="changeset_')
    assert (
        text.count("POST /api/data/v9.2/tasks HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n")
        == 3
    )
    assert [line for line in text.split("\r\n") if line.startswith("Content-ID")] == [
        "Content-ID: 1",
        "Content-ID: 2",
        "Content-ID: 3",
    ]
    assert "GET /api/data/v9.2/tasks?$select=subject&$filter=contains(subject,'batch') HTTP/1.1" in text
    assert text.endswith("--batch_AAA--\r\n")
    assert "\n" not in text.replace("\r\n", "")


def test_content_id_references_are_kept() -> None:
    account = BatchRequest("POST", "accounts", {"name": "Contoso"}, content_id="1")
    contact = BatchRequest("POST", "contacts", {"lastname": "x", "parentcustomerid_account@odata.bind": "$1"})
    patch = BatchRequest("PATCH", "$1", {"name": "Contoso Ltd"})
    _, body = build_batch([ChangeSet([account, contact, patch])], "https://x/api/data/v9.2/")
    text = body.decode()
    assert '"parentcustomerid_account@odata.bind": "$1"' in text
    assert "PATCH $1 HTTP/1.1" in text
    assert contact.content_id == "2" and patch.content_id == "3"


def test_get_inside_change_set_is_refused() -> None:
    with pytest.raises(ValueError):
        ChangeSet([BatchRequest("GET", "tasks")])


def test_split_keeps_change_sets_whole() -> None:
    items: list[BatchItem] = [*_tasks(999), ChangeSet(_tasks(3)), *_tasks(1500)]
    batches = split_batches(items, 1000)
    assert [count_requests(b) for b in batches] == [999, 1000, 503]
    assert isinstance(batches[1][0], ChangeSet)
    with pytest.raises(ValueError):
        split_batches([ChangeSet(_tasks(1001))], 1000)


def test_parse_changeset_sample_without_outer_content_type(replay: ReplayServer) -> None:
    _, _, body = replay.sample_http("batch-response-changeset.http")
    parsed = parse_batch_response(None, body)
    assert len(parsed) == 2
    changeset, get = parsed
    assert isinstance(changeset, list) and [p.status for p in changeset] == [204, 204, 204]
    assert [p.content_id for p in changeset] == ["1", "2", "3"]
    assert changeset[0].headers["OData-EntityId"].endswith("tasks(e73ffc82-e292-ed11-aad1-000d3a9933c9)")
    assert isinstance(get, BatchPart) and get.status == 200

    items: list[BatchItem] = [ChangeSet(_tasks(3)), BatchRequest("GET", "tasks?$select=subject")]
    results = map_results(items, parsed)
    assert [r.status for r in results] == [204, 204, 204, 200]
    assert [r.entity_id for r in results[:3]] == [
        "e73ffc82-e292-ed11-aad1-000d3a9933c9",
        "e83ffc82-e292-ed11-aad1-000d3a9933c9",
        "e93ffc82-e292-ed11-aad1-000d3a9933c9",
    ]
    assert [t["subject"] for t in results[3].body["value"]] == [
        "Task 1 in batch",
        "Task 2 in batch",
        "Task 3 in batch",
    ]
    assert all(r.ok for r in results)


def test_parse_with_crlf_and_header_boundary(replay: ReplayServer) -> None:
    _, _, body = replay.sample_http("batch-response-changeset.http")
    crlf = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    parsed = parse_batch_response(
        "multipart/mixed; boundary=batchresponse_f27ef42d-51b0-4685-bac9-f468f844de2f", crlf
    )
    assert len(parsed) == 2 and isinstance(parsed[0], list) and len(parsed[0]) == 3


def test_batch_through_server_continue_on_error(replay: ReplayServer) -> None:
    status, headers, body = replay.sample_http(
        "batch-response-changeset.http",
        {"Content-Type": "multipart/mixed; boundary=batchresponse_f27ef42d-51b0-4685-bac9-f468f844de2f"},
    )
    replay.on("POST", "$batch", (status, headers, body))
    s = ODataSession(replay.root, retry_policy=FailFast())
    results = s.batch([ChangeSet(_tasks(3)), BatchRequest("GET", "tasks?$select=subject")])
    assert [r.status for r in results] == [204, 204, 204, 200]
    sent = replay.requests[0]
    assert sent.headers["Prefer"] == "odata.continue-on-error"
    assert sent.headers["Content-Type"].startswith('multipart/mixed; boundary="batch_')
    assert sent.path == "/api/data/v9.2/$batch"


def test_whole_batch_400_without_continue_on_error(replay: ReplayServer) -> None:
    replay.on(
        "POST",
        "$batch",
        replay.sample_http(
            "batch-response-error-no-continue.http",
            {"Content-Type": "multipart/mixed; boundary=batchresponse_156da4b8-cd2c-4862-a911-4aaab97c001a"},
        ),
    )
    s = ODataSession(replay.root, retry_policy=FailFast())
    items = [BatchRequest("POST", "tasks", {"subject": "x" * 300}), *_tasks(2)]
    results = s.batch(items, continue_on_error=False)
    assert len(results) == 3
    assert results[0].status == 400 and isinstance(results[0].error, ValidationError)
    assert results[0].error.code == "0x80044331"
    assert all(isinstance(r.error, BatchAbortedError) and r.status == 0 for r in results[1:])
    assert results[1].error is not None and results[1].error.severity == Severity.ITEM
    assert "Prefer" not in replay.requests[0].headers
    with pytest.raises(ValidationError):
        results[0].raise_for_error()


def test_failed_change_set_answers_every_member(replay: ReplayServer) -> None:
    _, _, body = replay.sample_http("batch-response-error-no-continue.http")
    results = map_results(
        [ChangeSet(_tasks(2)), BatchRequest("GET", "tasks")], parse_batch_response(None, body)
    )
    assert [r.status for r in results[:2]] == [400, 400]
    assert all(isinstance(r.error, ValidationError) for r in results[:2])
    assert isinstance(results[2].error, BatchAbortedError)


def test_large_batches_are_split_into_requests(replay: ReplayServer) -> None:
    def answer(recorded: object) -> tuple[int, dict[str, str], bytes]:
        body = recorded.body.decode()  # type: ignore[attr-defined]
        n = body.count("POST /api/data/v9.2/tasks")
        parts = "".join(
            "--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\n"
            f"OData-EntityId: {replay.root}tasks(00000000-0000-0000-0000-{i:012d})\r\n\r\n\r\n"
            for i in range(n)
        )
        return 200, {"Content-Type": "multipart/mixed; boundary=b"}, (parts + "--b--\r\n").encode()

    replay.on("POST", "$batch", answer)
    s = ODataSession(replay.root, retry_policy=FailFast())
    results = s.batch(_tasks(2500))
    assert len(replay.requests) == 3
    assert len(results) == 2500 and all(r.ok for r in results)
    assert results[1000].entity_id == "00000000-0000-0000-0000-000000000000"
