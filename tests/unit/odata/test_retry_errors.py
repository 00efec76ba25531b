"""Retry policies, Retry-After parsing, error mapping and ETag helpers (no network)."""

from __future__ import annotations

import random

import pytest

from wizard.errors import D365SyncError, Severity
from wizard.odata import etag
from wizard.odata.errors import (
    AuthError,
    NotFoundError,
    ODataError,
    PreconditionFailedError,
    PrivilegeError,
    RequestTooLargeError,
    ServerError,
    ThrottledError,
    ValidationError,
    error_for_status,
    parse_error_body,
)
from wizard.odata.retry import FailFast, FaultTolerance, parse_retry_after


def test_fail_fast_never_retries() -> None:
    assert FailFast().next_delay(1, 0, 5) is None


def test_fault_tolerance_bounds() -> None:
    policy = FaultTolerance(max_attempts=4, max_wait=10, base_delay=1, rng=random.Random(1))
    assert policy.next_delay(1, 0, 2.0) == 2.0
    assert policy.next_delay(4, 0, 1.0) is None  # attempts exhausted
    assert policy.next_delay(1, 9, 2.0) is None  # would exceed max_wait
    delays = [policy.next_delay(n, 0, None) for n in (1, 2, 3)]
    assert delays[0] is not None and 0.5 <= delays[0] <= 1
    assert delays[2] is not None and 2 <= delays[2] <= 4


def test_parse_retry_after() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0


@pytest.mark.parametrize(
    ("status", "cls", "severity"),
    [
        (400, ValidationError, Severity.ITEM),
        (401, AuthError, Severity.ACCOUNT),
        (403, PrivilegeError, Severity.KIND),
        (404, NotFoundError, Severity.ITEM),
        (412, PreconditionFailedError, Severity.ITEM),
        (413, RequestTooLargeError, Severity.ITEM),
        (429, ThrottledError, Severity.ACCOUNT),
        (500, ServerError, Severity.ACCOUNT),
        (503, ServerError, Severity.ACCOUNT),
    ],
)
def test_status_mapping(status: int, cls: type[ODataError], severity: Severity) -> None:
    error = error_for_status(
        status, code="0x1", message="m", url="https://org.crm.dynamics.com/api/data/v9.2/x"
    )
    assert type(error) is cls and error.severity == severity and isinstance(error, D365SyncError)
    assert error.user_text and "0x1" in error.message


def test_501_is_not_retriable() -> None:
    assert not error_for_status(501).retriable
    assert error_for_status(503).retriable


def test_parse_error_body_variants() -> None:
    assert parse_error_body(b'{"error":{"code":"","message":"x"}}') == ("", "x", {})
    assert parse_error_body(b"<html/>") is None
    assert parse_error_body(b'{"value":[]}') is None
    assert parse_error_body('{"error": {"code": "0x1", "message": "a \\"q\\"" "x": 1}}') == (
        "0x1",
        'a "q"',
        {},
    )


def test_etag_helpers() -> None:
    assert etag.if_match('W/"1"') == {"If-Match": 'W/"1"'}
    assert etag.if_match(None) == {"If-Match": "*"}
    assert etag.if_none_match("5") == {"If-None-Match": '"5"'}
    assert etag.same('W/"1"', '"1"') and not etag.same('W/"1"', 'W/"2"') and not etag.same(None, "x")
    assert etag.etag_of({"@odata.etag": 'W/"9"'}) == 'W/"9"' and etag.etag_of({}) is None
