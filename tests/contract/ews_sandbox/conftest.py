"""Fixtures: a fresh EWS stand-in per test, exchangelib trusting the sandbox CA, CRM extended props."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from exchangelib import (
    BASIC,
    DELEGATE,
    Account,
    BaseProtocol,
    Build,
    CalendarItem,
    Configuration,
    Contact,
    Credentials,
    ExtendedProperty,
    FailFast,
    Message,
    Task,
    Version,
)
from exchangelib.folders import RootOfHierarchy
from exchangelib.protocol import CachingProtocol, RetryPolicy

from wizard.sandbox.directory import Directory, demo_directory
from wizard.sandbox.ews import EwsStandIn, ca_adapter
from wizard.sandbox.tls import SandboxTLS, make_tls
from wizard.sandbox.tokens import TokenSigner

ANNA = "anna.schmidt@contoso.com"
JOERG = "joerg.baer@contoso.com"
NANCY_UPN = "nancy.anderson@contoso.com"
NANCY_SMTP = "nanderson@contoso.com"
PS_PUBLIC_STRINGS = "00020329-0000-0000-C000-000000000046"


class CrmId(ExtendedProperty):
    property_set_id = PS_PUBLIC_STRINGS
    property_name = "crmid"
    property_type = "String"


class CrmLinkState(ExtendedProperty):
    distinguished_property_set_id = "PublicStrings"
    property_name = "crmlinkstate"
    property_type = "Integer"


class CrmOrgId(ExtendedProperty):
    property_set_id = PS_PUBLIC_STRINGS
    property_name = "crmorgid"
    property_type = "String"


class CrmRegarding(ExtendedProperty):
    distinguished_property_set_id = "PublicStrings"
    property_name = "crmregardingobjectid"
    property_type = "String"


class CrmTracked(ExtendedProperty):
    property_set_id = PS_PUBLIC_STRINGS
    property_name = "crmtracked"
    property_type = "Boolean"


class CrmSyncedAt(ExtendedProperty):
    property_set_id = PS_PUBLIC_STRINGS
    property_name = "crmsyncedat"
    property_type = "SystemTime"


CRM_PROPERTIES = {
    "crm_id": CrmId,
    "crm_link_state": CrmLinkState,
    "crm_org_id": CrmOrgId,
    "crm_regarding": CrmRegarding,
    "crm_tracked": CrmTracked,
    "crm_synced_at": CrmSyncedAt,
}


@pytest.fixture(scope="session")
def sandbox_tls(tmp_path_factory: pytest.TempPathFactory) -> SandboxTLS:
    return make_tls(tmp_path_factory.mktemp("ews-ca"))


@pytest.fixture
def directory() -> Directory:
    return demo_directory()


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner()


@pytest.fixture
def standin(
    directory: Directory, sandbox_tls: SandboxTLS, signer: TokenSigner, tmp_path: Path
) -> Iterator[EwsStandIn]:
    server = EwsStandIn(directory, tls=sandbox_tls, data_dir=tmp_path / "ews", signer=signer).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def trust_sandbox_ca(sandbox_tls: SandboxTLS) -> Iterator[None]:
    """exchangelib verifies the stand-in's certificate against the sandbox CA (no NoVerifyHTTPAdapter)."""
    previous = BaseProtocol.HTTP_ADAPTER_CLS
    BaseProtocol.HTTP_ADAPTER_CLS = ca_adapter(sandbox_tls.ca_file)
    yield
    BaseProtocol.HTTP_ADAPTER_CLS = previous
    CachingProtocol.clear_cache()


@pytest.fixture
def crm_properties() -> Iterator[dict[str, type[ExtendedProperty]]]:
    """Register the CRM extended properties on the item classes (and the folder root), deregister after."""
    for cls in (Contact, CalendarItem, Task, Message):
        for name, prop in CRM_PROPERTIES.items():
            cls.register(name, prop)
    RootOfHierarchy.register("crm_org_id", CrmOrgId)
    yield CRM_PROPERTIES
    for cls in (Contact, CalendarItem, Task, Message):
        for name in CRM_PROPERTIES:
            cls.deregister(name)
    RootOfHierarchy.deregister("crm_org_id")


AccountFactory = Callable[..., Account]


@pytest.fixture
def account_for(standin: EwsStandIn, directory: Directory) -> Iterator[AccountFactory]:
    made: list[Account] = []

    def make(
        address: str = ANNA,
        *,
        login: str | None = None,
        password: str | None = None,
        retry_policy: RetryPolicy | None = None,
        guess_version: bool = False,
    ) -> Account:
        user = next(u for u in directory.users if address in (u.upn, u.primary_email))
        config = Configuration(
            service_endpoint=standin.url,
            credentials=Credentials(
                login or user.upn, password if password is not None else user.ews_password
            ),
            auth_type=BASIC,
            version=None if guess_version else Version(Build(15, 2, 2562, 17)),
            retry_policy=retry_policy or FailFast(),
        )
        account = Account(user.primary_email, config=config, autodiscover=False, access_type=DELEGATE)
        made.append(account)
        return account

    yield make
    for account in made:
        account.protocol.close()


@pytest.fixture
def anna(account_for: AccountFactory) -> Account:
    return account_for(ANNA)
