"""SOAP Autodiscover answers for hostile-server tests: a ``RedirectUrl`` and a set of user settings."""

from __future__ import annotations

from typing import Any

from tests.support.hostile import raw

ANNA = "anna@contoso.com"

_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing">'
    '<s:Header><a:Action s:mustUnderstand="1">'
    "http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettingsResponse</a:Action>"
    '<h:ServerVersionInfo xmlns:h="http://schemas.microsoft.com/exchange/2010/Autodiscover" '
    'xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><h:MajorVersion>15</h:MajorVersion>'
    "<h:MinorVersion>2</h:MinorVersion><h:MajorBuildNumber>1118</h:MajorBuildNumber>"
    "<h:MinorBuildNumber>7</h:MinorBuildNumber><h:Version>Exchange2016</h:Version></h:ServerVersionInfo>"
    "</s:Header><s:Body>"
    '<GetUserSettingsResponseMessage xmlns="http://schemas.microsoft.com/exchange/2010/Autodiscover">'
    '<Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><ErrorCode>NoError</ErrorCode>'
    "<ErrorMessage/><UserResponses><UserResponse>"
)
_TAIL = "</UserResponse></UserResponses></Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>"


def _soap(inner: str) -> Any:
    body = (_HEAD + inner + _TAIL).encode()
    return raw(200, {"Content-Type": "text/xml; charset=utf-8"}, body)


def redirect_url(target: str) -> Any:
    """A GetUserSettings answer that sends the client on to ``target`` (ErrorCode RedirectUrl)."""
    return _soap(
        "<ErrorCode>RedirectUrl</ErrorCode><ErrorMessage>Redirection URL.</ErrorMessage>"
        f"<RedirectTarget>{target}</RedirectTarget><UserSettingErrors/><UserSettings/>"
    )


def settings(ews_url: str, address: str = ANNA) -> Any:
    values = {"ExternalEwsUrl": ews_url, "InternalEwsUrl": ews_url, "AutoDiscoverSMTPAddress": address}
    entries = "".join(
        f'<UserSetting i:type="StringSetting"><Name>{n}</Name><Value>{v}</Value></UserSetting>'
        for n, v in values.items()
    )
    return _soap(
        "<ErrorCode>NoError</ErrorCode><ErrorMessage>No error.</ErrorMessage>"
        f'<RedirectTarget i:nil="true"/><UserSettingErrors/><UserSettings>{entries}</UserSettings>'
    )
