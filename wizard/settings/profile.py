"""The local profile: which organizations are configured, which one synchronizes, the bound mailbox,
this computer's instance id and the sync options.

Plain dataclasses, serialised as JSON by :mod:`wizard.settings.store`. Secrets are never part of it: passwords
live in the OS keyring and tokens in the encrypted MSAL cache (:mod:`wizard.secrets`).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, TypeVar

from wizard.settings.enums import ALL_KINDS, DEFAULT_POLICY, RECORD_KINDS, ConflictPolicy

AuthKind = Literal["oauth", "ntlm"]
FoundVia = Literal["discovery", "url"]
MailboxKind = Literal["exchange", "exchange_online", "pop3"]
TlsMode = Literal["ssl", "starttls"]


class ProfileFormatError(ValueError):
    """A value in the profile file has the wrong type or an unknown value; ``path`` says where."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass
class OrgProfile:
    """One configured Dynamics 365 organization (environment)."""

    id: str  # OrganizationId (from WhoAmI / discovery)
    display_name: str
    web_url: str  # what people open in a browser
    api_url: str  # the organization URL the Web API hangs off (…/api/data/<api_version>/ is appended)
    found_via: FoundVia = "url"
    auth_kind: AuthKind = "oauth"
    username: str = ""  # UPN for OAuth, DOMAIN\\user or UPN for NTLM
    tenant_id: str = ""
    unique_name: str = ""
    authority: str = ""  # OAuth authority URL used to sign in ("" = the cloud's default)
    client_id: str = ""  # "" = the default public client id
    discovery_url: str = ""  # Global Discovery service it was found with, if any
    ca_file: str = ""  # extra CA bundle to trust (private CA on-premises, the sandbox)
    user_id: str = ""  # the signed-in user's systemuserid in this organization
    version: str = ""
    added_at: str = ""
    #: the Web API version this organization answers ("" = v9.2; on premises 9.0/9.1 serve only their own)
    api_version: str = ""


@dataclass
class MailboxBinding:
    """The one primary mailbox, bound to the user's mailbox record in the synchronizing organization."""

    address: str
    kind: MailboxKind
    org_id: str = ""  # the organization whose mailbox record was bound
    username: str = ""  # login name if it differs from the address
    auth: str = "ntlm"  # Exchange: "ntlm" | "basic" (TLS only) | "oauth2" (the organization's sign-in)
    ews_url: str = ""  # Exchange: the EWS endpoint (found by Autodiscover or given)
    autodiscover_url: str = ""  # Exchange: a SOAP Autodiscover URL to ask instead of the domain's usual ones
    autodiscovered: bool = False
    autodiscover_redirects: list[str] = field(default_factory=list)  # Exchange: hosts the user confirmed
    graph_url: str = ""  # Exchange Online: the Microsoft Graph service root ("" = the public cloud's)
    pop3_host: str = ""
    pop3_port: int = 995
    pop3_tls: TlsMode = "ssl"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_tls: TlsMode = "starttls"
    ca_file: str = ""
    bound_at: str = ""


#: requests of one service a bulk call keeps in flight at once, unless the profile says otherwise
DEFAULT_CONCURRENT_REQUESTS = 4
#: the most a profile may ask for (services allow a few connections per user, not dozens)
MAX_CONCURRENT_REQUESTS = 16


@dataclass
class SyncOptions:
    """What to synchronize and how (DESIGN section 4); server-side settings (filters, tracking option) live in Dynamics."""

    kinds: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(ALL_KINDS, True))
    send_email: bool = True
    interval_minutes: int | None = None  # None: the user's outlooksyncinterval, never under the org minimum
    conflict_policy: dict[str, str] = field(
        default_factory=lambda: dict.fromkeys(RECORD_KINDS, DEFAULT_POLICY)
    )
    field_directions: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> field -> 0..3
    sync_all_addresses: bool = False  # contacts: all three addresses instead of the mailing address only
    #: requests a bulk write or read keeps on the wire at once, per service (1 = one after the other)
    concurrent_requests: int = DEFAULT_CONCURRENT_REQUESTS

    def policy_for(self, kind: str) -> ConflictPolicy:
        """The conflict policy of ``kind``; :data:`DEFAULT_POLICY` when the profile names none."""
        return ConflictPolicy(self.conflict_policy.get(kind, DEFAULT_POLICY))

    def set_policy(self, policy: ConflictPolicy) -> None:
        """One policy for every record kind (the stored format keeps one entry per kind)."""
        self.conflict_policy = dict.fromkeys(RECORD_KINDS, ConflictPolicy(policy))


@dataclass
class Profile:
    instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    organizations: list[OrgProfile] = field(default_factory=list)
    sync_org_id: str | None = None
    mailbox: MailboxBinding | None = None
    sync: SyncOptions = field(default_factory=SyncOptions)

    # -- queries -------------------------------------------------------------------------------
    def org(self, org_id: str) -> OrgProfile | None:
        return next((o for o in self.organizations if o.id == org_id), None)

    @property
    def sync_org(self) -> OrgProfile | None:
        return self.org(self.sync_org_id) if self.sync_org_id else None

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        if not isinstance(data, dict):
            raise ProfileFormatError("$", "expected an object")
        orgs_raw = _typed(data, "organizations", list, "$", default=[])
        profile = Profile(
            instance_id=_typed(data, "instance_id", str, "$", default="") or str(uuid.uuid4()),
            organizations=[
                _dataclass_from(OrgProfile, o, f"$.organizations[{i}]") for i, o in enumerate(orgs_raw)
            ],
            sync_org_id=_typed(data, "sync_org_id", (str, type(None)), "$", default=None),
            mailbox=(
                _dataclass_from(MailboxBinding, data["mailbox"], "$.mailbox")
                if data.get("mailbox") is not None
                else None
            ),
            sync=_dataclass_from(SyncOptions, data.get("sync") or {}, "$.sync"),
        )
        profile.validate()
        return profile

    def validate(self) -> None:
        ids = [o.id for o in self.organizations]
        if len(set(ids)) != len(ids):
            raise ProfileFormatError("$.organizations", "an organization is listed twice")
        if self.sync_org_id is not None and self.sync_org_id not in ids:
            raise ProfileFormatError("$.sync_org_id", "names an organization that is not configured")
        for i, org in enumerate(self.organizations):
            if org.auth_kind not in ("oauth", "ntlm"):
                raise ProfileFormatError(
                    f"$.organizations[{i}].auth_kind", f"unknown value {org.auth_kind!r}"
                )
        if self.mailbox is not None and self.mailbox.kind not in ("exchange", "exchange_online", "pop3"):
            raise ProfileFormatError("$.mailbox.kind", f"unknown value {self.mailbox.kind!r}")
        if self.mailbox is not None and self.mailbox.auth not in ("ntlm", "basic", "oauth2"):
            raise ProfileFormatError("$.mailbox.auth", f"unknown value {self.mailbox.auth!r}")
        for kind, policy in self.sync.conflict_policy.items():
            if policy not in set(ConflictPolicy):
                raise ProfileFormatError(f"$.sync.conflict_policy.{kind}", f"unknown value {policy!r}")
        requests = self.sync.concurrent_requests
        if isinstance(requests, bool) or not 1 <= requests <= MAX_CONCURRENT_REQUESTS:
            raise ProfileFormatError(
                "$.sync.concurrent_requests", f"must be a whole number from 1 to {MAX_CONCURRENT_REQUESTS}"
            )
        for kind, directions in self.sync.field_directions.items():
            for name, direction in directions.items():
                if direction not in (0, 1, 2, 3):
                    raise ProfileFormatError(
                        f"$.sync.field_directions.{kind}.{name}", "must be 0 (none), 1, 2 or 3"
                    )


T = TypeVar("T")


def _typed(data: dict[str, Any], key: str, kind: Any, where: str, default: Any) -> Any:
    value = data.get(key, default)
    if not isinstance(value, kind):
        raise ProfileFormatError(f"{where}.{key}", f"unexpected {type(value).__name__}")
    return value


def _dataclass_from(cls: type[T], raw: Any, where: str) -> T:
    """Build a dataclass from a dict, checking the types of the known keys and keeping defaults for missing ones.

    Unknown keys are dropped (a newer minor release may add some; the schema version guards real changes).
    """
    if not isinstance(raw, dict):
        raise ProfileFormatError(where, "expected an object")
    values: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name not in raw:
            continue
        value = raw[f.name]
        expected = _expected_types(f.type)
        if expected and not isinstance(value, expected):
            raise ProfileFormatError(f"{where}.{f.name}", f"unexpected {type(value).__name__}")
        values[f.name] = value
    return cls(**values)


def _expected_types(annotation: Any) -> tuple[type, ...]:
    text = str(annotation)
    kinds: list[type] = []
    if "None" in text:
        kinds.append(type(None))
    if text.startswith("dict"):
        return (dict, *kinds)
    if text.startswith("list"):
        return (list, *kinds)
    if text.startswith(("int", "int |")):
        return (int, *kinds)
    if text.startswith("bool"):
        return (bool,)
    if text.startswith(("str", "AuthKind", "FoundVia", "MailboxKind", "TlsMode")):
        return (str, *kinds)
    return ()
