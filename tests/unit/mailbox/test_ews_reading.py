"""EWS answers reach exchangelib's parser in large slices, not one byte at a time (issue 15)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import requests.adapters
from exchangelib.util import to_xml

from wizard.mailbox.ews.connection import READ_SLICE, make_adapter_class

BODY = b"<?xml version='1.0'?><r>" + b"<i>x</i>" * 130_000 + b"</r>"  # about 1 MB


def _answer(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> requests.Response:
    def send(self: Any, request: Any, *args: Any, **kw: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = 200
        response._content = BODY
        response._content_consumed = True  # type: ignore[attr-defined]
        return response

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    adapter = make_adapter_class(None)()
    request = requests.Request("POST", "https://mail.contoso.example/EWS/Exchange.asmx").prepare()
    return adapter.send(request, **kwargs)


def test_an_answer_in_memory_is_sliced_large(monkeypatch: pytest.MonkeyPatch) -> None:
    response = _answer(monkeypatch, stream=False)
    slices = list(response.iter_content())  # what exchangelib's _get_soap_parts asks for
    assert len(slices) == -(-len(BODY) // READ_SLICE) and b"".join(slices) == BODY
    assert len(list(response.iter_content(1000))) == -(-len(BODY) // 1000)  # an explicit size still wins
    assert len(to_xml(response.iter_content()).getroot()) == 130_000


def test_a_streamed_answer_keeps_requests_default(monkeypatch: pytest.MonkeyPatch) -> None:
    response = _answer(monkeypatch, stream=True)
    assert len(list(response.iter_content())[:5]) == 5 and len(next(response.iter_content())) == 1
