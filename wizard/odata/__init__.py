"""The shared OData v4 HTTP core (Dataverse Web API, Global Discovery, Microsoft Graph).

Session with the product's TLS/URL policy and auth, typed errors, retry policies, paging, delta reads,
``$batch`` and weak-ETag helpers.
"""

from __future__ import annotations

from wizard.odata.batch import BatchItem, BatchRequest, BatchResult, ChangeSet
from wizard.odata.errors import (
    AuthError,
    BatchAbortedError,
    InsecureURLError,
    InvalidURLError,
    MalformedResponseError,
    MethodNotAllowedError,
    NetworkError,
    NotFoundError,
    ODataError,
    PreconditionFailedError,
    PrivilegeError,
    RequestTooLargeError,
    ServerError,
    ThrottledError,
    TLSError,
    ValidationError,
)
from wizard.odata.retry import FailFast, FaultTolerance, RetryPolicy, parse_retry_after
from wizard.odata.session import DeltaResult, ODataSession, TokenProvider, is_loopback_host, validate_url

__all__ = [
    "AuthError",
    "BatchAbortedError",
    "BatchItem",
    "BatchRequest",
    "BatchResult",
    "ChangeSet",
    "DeltaResult",
    "FailFast",
    "FaultTolerance",
    "InsecureURLError",
    "InvalidURLError",
    "MalformedResponseError",
    "MethodNotAllowedError",
    "NetworkError",
    "NotFoundError",
    "ODataError",
    "ODataSession",
    "PreconditionFailedError",
    "PrivilegeError",
    "RequestTooLargeError",
    "RetryPolicy",
    "ServerError",
    "TLSError",
    "ThrottledError",
    "TokenProvider",
    "ValidationError",
    "is_loopback_host",
    "parse_retry_after",
    "validate_url",
]
