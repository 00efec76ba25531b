"""The per-item error of an EWS operation and the ResponseMessage that carries it (or NoError)."""

from __future__ import annotations

from wizard.sandbox.ews._soap import Element, el, m, sub


class EwsError(Exception):
    """A ResponseCode answered for one item/folder of a request (ResponseClass="Error")."""

    def __init__(self, code: str, text: str = "") -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text or code


def response_message(op: str, error: EwsError | None = None) -> Element:
    msg = el(m(f"{op}ResponseMessage"), attrs={"ResponseClass": "Error" if error else "Success"})
    if error is not None:
        sub(msg, "m:MessageText", error.text)
        sub(msg, "m:ResponseCode", error.code)
        sub(msg, "m:DescriptiveLinkKey", "0")
    else:
        sub(msg, "m:ResponseCode", "NoError")
    return msg
