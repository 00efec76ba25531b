"""Raw SOAP against the EWS stand-in (no exchangelib): what a client that parses the XML itself sees."""

from __future__ import annotations

import requests
from lxml import etree

from tests.contract.ews_sandbox.conftest import ANNA

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "http://schemas.microsoft.com/exchange/services/2006/types"
MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"
NS = {"s": SOAP, "t": TNS, "m": MNS}

ENVELOPE = """<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="{SOAP}" xmlns:m="{MNS}" xmlns:t="{TNS}">
  <s:Header><t:RequestServerVersion Version="Exchange2016"/>{header}</s:Header>
  <s:Body>{body}</s:Body>
</s:Envelope>"""


def call(standin, sandbox_tls, body: str, header: str = "") -> etree._Element:
    """POST one SOAP body (Basic as Anna); the parsed answer envelope."""
    answer = requests.post(
        standin.url,
        data=ENVELOPE.format(SOAP=SOAP, MNS=MNS, TNS=TNS, header=header, body=body).encode(),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        auth=(ANNA, "Sandbox-Anna-2026"),
        verify=str(sandbox_tls.ca_file),
        timeout=10,
    )
    return etree.fromstring(answer.content)


def create(standin, sandbox_tls, folder: str, item_xml: str, header: str = "") -> str:
    """CreateItem of one item (SendToNone / SaveOnly); its ItemId."""
    body = (
        '<m:CreateItem MessageDisposition="SaveOnly" SendMeetingInvitations="SendToNone">'
        f'<m:SavedItemFolderId><t:DistinguishedFolderId Id="{folder}"/></m:SavedItemFolderId>'
        f"<m:Items>{item_xml}</m:Items></m:CreateItem>"
    )
    answer = call(standin, sandbox_tls, body, header)
    codes = answer.xpath("//m:ResponseCode/text()", namespaces=NS)
    assert codes == ["NoError"], etree.tostring(answer)
    return str(answer.xpath("//t:ItemId/@Id", namespaces=NS)[0])


def get_item(standin, sandbox_tls, item_id: str, header: str = "", shape: str = "AllProperties"):
    """GetItem with a base shape; the item element of the answer."""
    body = (
        f"<m:GetItem><m:ItemShape><t:BaseShape>{shape}</t:BaseShape></m:ItemShape>"
        f'<m:ItemIds><t:ItemId Id="{item_id}"/></m:ItemIds></m:GetItem>'
    )
    answer = call(standin, sandbox_tls, body, header)
    items = answer.xpath("//m:Items/*", namespaces=NS)
    assert len(items) == 1, etree.tostring(answer)
    return items[0]


def text(item, name: str) -> str | None:
    found = item.find(f"{{{TNS}}}{name}")
    return None if found is None else (found.text or "")


def names(item) -> list[str]:
    return [etree.QName(child).localname for child in item]
