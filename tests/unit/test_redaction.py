"""The log's redaction masks credential values, never the words of a sentence that mentions them (issue 12
item 12: "No bearer *** from …" must read "No bearer token from …")."""

from __future__ import annotations

import pytest

from wizard.secrets import redact

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbm5hIn0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    "line",
    [
        "No bearer token from 127.0.0.1: the request is refused (401)",
        "Graph stand-in: bearer token missing or expired for anna@contoso.com",
        "Sending a Bearer challenge to the client",
        "No password is stored for the mailbox anna@contoso.com. Bind it again.",
        "The password: it was refused by mail.contoso.com",
        "refreshing the access token for https://contoso.crm4.dynamics.com",
        "the token cache holds 2 accounts",
        "statuscode=6 for 3 emails; username=anna@contoso.com",
        "HTTP 404 for GET /api/data/v9.2/queues: segment 'queues' not found",
    ],
)
def test_sentences_stay_readable(line: str) -> None:
    assert redact(line) == line


@pytest.mark.parametrize(
    ("line", "secret", "expected"),
    [
        (f"Authorization: Bearer {JWT}", JWT, "Authorization: Bearer ***"),
        ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "Authorization: Basic ***"),
        ("got bearer Zm9vYmFyYmF6cXV4LTEy for anna", "Zm9vYmFyYmF6cXV4LTEy", "got bearer *** for anna"),
        ("retrying with bearer abcdefghijklmnopqrstuvwxyzABCD now", "abcdefghijklmnopqrstuvwxyzABCD", None),
        ("header: Bearer SecretToken", "SecretToken", "header: Bearer ***"),
        ("password: hunter2", "hunter2", "password: ***"),
        ("password: Sommerfest, user anna", "Sommerfest", "password: ***, user anna"),
        ("client_secret: Xy7~Qz.9 for the app", "Xy7~Qz.9", "client_secret: *** for the app"),
        ("grant_type=password&username=a%40b&password=S3cret!&scope=x", "S3cret!", None),
        ('{"access_token": "abc.def", "refresh_token":"r-123"}', "r-123", None),
        (f"token in text {JWT} end", JWT, "token in text *** end"),
        ("https://x/cb?code=AUTHCODE123&state=s", "AUTHCODE123", None),
    ],
)
def test_secrets_go(line: str, secret: str, expected: str | None) -> None:
    masked = redact(line)
    assert secret not in masked
    assert "***" in masked
    if expected is not None:
        assert masked == expected


def test_redacting_twice_changes_nothing_more() -> None:
    once = redact(f"Authorization: Bearer {JWT}; password: hunter2")
    assert redact(once) == once
