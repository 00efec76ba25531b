"""Access tokens of the sandbox's OAuth2 authority, as JWTs signed with a per-sandbox key (HS256).

The authority issues them; the Dataverse, Discovery and Graph stand-ins verify them. Claims follow Entra ID's
access tokens where the product could look at them: ``aud`` (the resource, e.g. the environment URL),
``oid`` (the user's directory object id), ``upn``, ``tid``, ``scp``, ``iat``/``exp``.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt


class TokenRejected(Exception):
    """The bearer token is missing, malformed, expired or not for this resource."""

    def __init__(self, message: str, code: str = "InvalidAuthenticationToken") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class TokenSigner:
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    issuer: str = "https://127.0.0.1/sandbox-authority"

    def issue(
        self,
        *,
        oid: str,
        upn: str,
        tenant_id: str,
        audience: str | list[str],
        scope: str = "user_impersonation",
        lifetime: int = 3600,
        now: float | None = None,
    ) -> str:
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": audience,
            "oid": oid,
            "sub": oid,
            "upn": upn,
            "tid": tenant_id,
            "scp": scope,
            "iat": issued,
            "nbf": issued,
            "exp": issued + lifetime,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self.key, algorithm="HS256")

    def verify(self, token: str, audience: str | None = None) -> dict[str, Any]:
        """The claims of a valid token, or :class:`TokenRejected`.

        ``audience`` is compared without a trailing slash and case-insensitively, as the resource URI is.
        """
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self.key, algorithms=["HS256"], options={"verify_aud": False}
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenRejected("The access token has expired.", "ExpiredAuthTicket") from exc
        except jwt.PyJWTError as exc:
            raise TokenRejected("The access token is invalid.", "InvalidAuthenticationToken") from exc
        if audience is not None:
            wanted = audience.rstrip("/").lower()
            given = claims.get("aud")
            given_list = given if isinstance(given, list) else [given]
            if not any(str(a).rstrip("/").lower() == wanted for a in given_list):
                raise TokenRejected(
                    f"The access token is not valid for {audience}.", "InvalidAuthenticationToken"
                )
        return claims
