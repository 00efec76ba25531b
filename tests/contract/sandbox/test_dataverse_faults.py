"""Fault injection answers in the Dataverse stand-in's own words (429 + Retry-After, 5xx, drops, latency)."""

from __future__ import annotations

import time

import pytest
import requests

from tests.contract.sandbox.conftest import Client


def test_throttle_answers_429_with_retry_after_and_documented_body(client: Client) -> None:
    client.env.server.faults.throttle(retry_after=7, remaining=1)
    throttled = client.get("WhoAmI()")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    assert throttled.headers["OData-Version"] == "4.0"
    assert throttled.json() == {
        "error": {
            "code": "0x80072322",
            "message": "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
        }
    }
    assert client.get("WhoAmI()").status_code == 200


def test_server_failure_answers_5xx_with_error_body(client: Client) -> None:
    client.env.server.faults.error(503, remaining=1, path_contains="/contacts")
    failed = client.get("contacts")
    assert failed.status_code == 503
    assert set(failed.json()["error"]) == {"code", "message"}
    assert client.get("contacts").status_code == 200


def test_dropped_connection(client: Client) -> None:
    client.env.server.faults.drop(remaining=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(
            client.api + "WhoAmI()",
            headers=dict(client.session.headers),
            verify=client.session.verify,
            timeout=10,
        )
    assert client.get("WhoAmI()").status_code == 200


def test_latency(client: Client) -> None:
    client.env.server.faults.latency(0.3, remaining=1)
    started = time.perf_counter()
    assert client.get("WhoAmI()").status_code == 200
    assert time.perf_counter() - started >= 0.3
    client.env.server.reset_counts()
    client.get("WhoAmI()")
    assert client.env.server.request_count == 1
