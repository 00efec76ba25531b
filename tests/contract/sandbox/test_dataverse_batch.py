"""$batch of the Dataverse stand-in: multipart structure, change sets, Content-ID references, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import requests

from tests.contract.sandbox.conftest import Client
from tests.contract.sandbox.samples import load_http, load_json

CRLF = "\r\n"


def _request(method: str, url: str, body: Any = None, content_id: int | None = None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{method} {url} HTTP/1.1"]
    if body is not None:
        lines += ["Content-Type: application/json; type=entry", "", json.dumps(body)]
    else:
        lines += ["Accept: application/json", ""]
    return CRLF.join(lines) + CRLF


def _batch(parts: Sequence[str | list[str]], boundary: str = "batch_22975cad") -> tuple[str, str]:
    chunks = []
    for index, part in enumerate(parts):
        if isinstance(part, list):
            inner_boundary = f"changeset_{index}"
            inner = "".join(f"--{inner_boundary}{CRLF}{p}" for p in part) + f"--{inner_boundary}--{CRLF}"
            chunks.append(f"Content-Type: multipart/mixed; boundary={inner_boundary}{CRLF}{CRLF}{inner}")
        else:
            chunks.append(part)
    body = "".join(f"--{boundary}{CRLF}{c}" for c in chunks) + f"--{boundary}--{CRLF}"
    return body, f'multipart/mixed; boundary="{boundary}"'


def _send(client: Client, parts: Sequence[str | list[str]], prefer: str | None = None) -> requests.Response:
    body, content_type = _batch(parts)
    headers = {"Content-Type": content_type}
    if prefer:
        headers["Prefer"] = prefer
    return client.post("$batch", data=body.encode("utf-8"), headers=headers)


def _parts(response: requests.Response) -> list[dict[str, Any]]:
    """Parse a multipart/mixed answer into [{'status', 'headers', 'body', 'content_id', 'changeset'}]."""
    match = re.search(r"boundary=([^;]+)", response.headers["Content-Type"])
    assert match is not None
    return _split(response.text, match.group(1))


def _split(text: str, boundary: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    assert text.rstrip().endswith(f"--{boundary}--")
    for chunk in text.split(f"--{boundary}")[1:-1]:
        head, _, rest = chunk.strip("\r\n").partition(CRLF + CRLF)
        mime = dict(line.split(": ", 1) for line in head.split(CRLF))
        if mime["Content-Type"].startswith("multipart/mixed"):
            inner = re.search(r"boundary=(\S+)", mime["Content-Type"])
            assert inner is not None and inner.group(1).startswith("changesetresponse_")
            out.append({"changeset": _split(rest, inner.group(1))})
            continue
        assert mime["Content-Type"] == "application/http"
        assert mime["Content-Transfer-Encoding"] == "binary"
        status_line, _, after = rest.partition(CRLF)
        head2, _, body = after.partition(CRLF + CRLF)
        headers = dict(line.split(": ", 1) for line in head2.split(CRLF) if line)
        out.append(
            {
                "status": int(status_line.split()[1]),
                "status_line": status_line,
                "headers": headers,
                "body": body.strip(),
                "content_id": mime.get("Content-ID"),
            }
        )
    return out


def test_changeset_and_get_like_the_sample(client: Client) -> None:
    tasks = [
        _request("POST", "/api/data/v9.2/tasks", {"subject": f"Task {i} in batch"}, i) for i in (1, 2, 3)
    ]
    get = _request(
        "GET", "/api/data/v9.2/tasks?$select=subject&$filter=contains(subject,'batch')&$orderby=subject"
    )
    response = _send(client, [tasks, get])
    status, headers, sample_text = load_http("batch-response-changeset.http")
    assert response.status_code == status
    assert response.headers["OData-Version"] == headers["OData-Version"]
    assert re.fullmatch(
        r"multipart/mixed; boundary=batchresponse_[0-9a-f-]{36}", response.headers["Content-Type"]
    )
    assert "\r\n" in response.text
    parts = _parts(response)
    assert len(parts) == 2
    changeset = parts[0]["changeset"]
    assert [p["content_id"] for p in changeset] == ["1", "2", "3"]
    for item in changeset:
        assert item["status_line"] == "HTTP/1.1 204 No Content"
        assert list(item["headers"]) == ["OData-Version", "Location", "OData-EntityId"]
        assert item["headers"]["Location"] == item["headers"]["OData-EntityId"]
    got = parts[1]
    assert got["status_line"] == "HTTP/1.1 200 OK"
    assert got["headers"]["Content-Type"] == "application/json; odata.metadata=minimal; odata.streaming=true"
    document = json.loads(got["body"])
    sample_body = json.loads(sample_text[sample_text.index("{") : sample_text.rindex("}") + 1])
    assert set(document) == set(sample_body)
    assert [r["subject"] for r in document["value"]] == [
        "Task 1 in batch",
        "Task 2 in batch",
        "Task 3 in batch",
    ]
    assert set(document["value"][0]) == set(sample_body["value"][0])


def test_changeset_rolls_back_on_failure(client: Client) -> None:
    before = client.env.store.version
    parts = [
        [
            _request("POST", "/api/data/v9.2/tasks", {"subject": "ok"}, 1),
            _request("POST", "/api/data/v9.2/tasks", {"subject": "x" * 201}, 2),
        ]
    ]
    response = _send(client, parts)
    assert response.status_code == 400
    (error,) = _parts(response)
    assert error["status"] == 400
    assert json.loads(error["body"]) == load_json("error-body-simple-validation.json")
    assert client.get("tasks?$select=subject").json()["value"] == []
    assert client.env.store.version == before


def test_stop_at_first_error_versus_continue_on_error(client: Client) -> None:
    bad = _request("POST", "/api/data/v9.2/tasks", {"subject": "x" * 201})
    good = _request("POST", "/api/data/v9.2/tasks", {"subject": "after"})
    stopped = _send(client, [bad, good])
    status, _, sample = load_http("batch-response-error-no-continue.http")
    assert stopped.status_code == status == 400
    parts = _parts(stopped)
    assert len(parts) == 1
    assert parts[0]["status_line"] == "HTTP/1.1 400 Bad Request"
    assert set(parts[0]["headers"]) == {"REQ_ID", "Content-Type", "OData-Version"}
    assert json.loads(parts[0]["body"]) == json.loads(
        sample[sample.index('{"error"') : sample.rindex("}") + 1]
    )
    assert client.get("tasks?$select=subject").json()["value"] == []

    continued = _send(client, [bad, good], prefer="odata.continue-on-error")
    assert continued.status_code == 200
    assert continued.headers["Preference-Applied"] == "odata.continue-on-error"
    assert [p["status"] for p in _parts(continued)] == [400, 204]
    assert [r["subject"] for r in client.get("tasks?$select=subject").json()["value"]] == ["after"]


def test_content_id_references_in_url_and_body(client: Client) -> None:
    parts = [
        [
            _request("POST", "/api/data/v9.2/accounts", {"name": "Ref GmbH"}, 1),
            _request(
                "POST",
                "/api/data/v9.2/contacts",
                {"lastname": "Ref", "parentcustomerid_account@odata.bind": "$1"},
                2,
            ),
            _request("PATCH", "$1", {"primarycontactid@odata.bind": "$2"}, 3),
            _request("PUT", "$2/jobtitle", {"value": "Einkauf"}, 4),
        ]
    ]
    response = _send(client, parts)
    assert response.status_code == 200, response.text
    statuses = [p["status"] for p in _parts(response)[0]["changeset"]]
    assert statuses == [204, 204, 204, 204]
    account = client.get("accounts?$select=name,_primarycontactid_value").json()["value"][0]
    contact = client.get(f"contacts({account['_primarycontactid_value']})").json()
    assert contact["_parentcustomerid_value"] == account["accountid"]
    assert contact["jobtitle"] == "Einkauf"


def test_unknown_reference_get_in_changeset_and_relative_urls(client: Client) -> None:
    forward = _send(client, [[_request("PATCH", "$7", {"name": "x"}, 1)]])
    assert forward.status_code == 400
    message = json.loads(_parts(forward)[0]["body"])["error"]["message"]
    assert message == "Content-ID Reference: '$7' does not exist in the batch context."
    get_inside = _send(client, [[_request("GET", "/api/data/v9.2/tasks", None, 1)]])
    assert get_inside.status_code == 400
    relative = _send(
        client,
        [
            _request("POST", "tasks", {"subject": "relative"}),
            _request("GET", f"{client.env.url}/api/data/v9.2/WhoAmI()"),
        ],
    )
    assert [p["status"] for p in _parts(relative)] == [204, 200]


def test_more_than_1000_requests_is_refused(client: Client) -> None:
    get = _request("GET", "/api/data/v9.2/WhoAmI()")
    assert _send(client, [get] * 1000).status_code == 200
    too_many = _send(client, [get] * 1001)
    assert too_many.status_code == 400
    assert "1000" in too_many.json()["error"]["message"]


def test_malformed_batch_is_400(client: Client) -> None:
    response = client.post("$batch", data=b"not multipart", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message"}
