"""Global Discovery stand-in: membership, Instance properties, keys, $select, case-sensitive $filter."""

from __future__ import annotations

import requests

from tests.contract.sandbox.samples import load_http, load_json
from wizard.sandbox.dataverse.discovery import PROPERTIES, DiscoveryService
from wizard.sandbox.dataverse.server import DataverseEnvironment
from wizard.sandbox.directory import Directory
from wizard.sandbox.tls import SandboxTLS
from wizard.sandbox.tokens import TokenSigner


def _get(service: DiscoveryService, path: str, token: str | None, tls: SandboxTLS) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(
        f"{service.url}/api/discovery/v2.0/{path}", headers=headers, verify=str(tls.ca_file), timeout=10
    )


def _token(signer: TokenSigner, directory: Directory, upn: str, audience: str) -> str:
    user = directory.user(upn)
    assert user is not None
    return signer.issue(oid=user.oid, upn=user.upn, tenant_id=directory.tenant_id, audience=audience)


def test_instances_for_members_only(
    discovery_setup: tuple[DiscoveryService, list[DataverseEnvironment]],
    directory: Directory,
    signer: TokenSigner,
    tls: SandboxTLS,
) -> None:
    service, environments = discovery_setup
    anna = _token(signer, directory, "anna.schmidt@contoso.com", service.url)
    document = _get(service, "Instances", anna, tls).json()
    sample = load_json("global-discovery-instances-response.json")
    assert set(document) == {"@odata.context", *sample}
    assert [i["UniqueName"] for i in document["value"]] == ["contososales", "contosotest"]
    first = document["value"][0]
    assert set(first) == set(PROPERTIES)
    assert set(sample["value"][0]) <= set(first)
    assert first["Url"] == first["ApiUrl"] == environments[0].url
    assert first["Id"] == environments[0].org.id
    assert first["TenantId"] == directory.tenant_id
    assert first["State"] == 0
    ben = _token(signer, directory, "ben.miller@contoso.com", service.url)
    assert [i["UniqueName"] for i in _get(service, "Instances", ben, tls).json()["value"]] == ["contososales"]


def test_select_matches_sample(
    discovery_setup: tuple[DiscoveryService, list[DataverseEnvironment]],
    directory: Directory,
    signer: TokenSigner,
    tls: SandboxTLS,
) -> None:
    service, _ = discovery_setup
    status, headers, body = load_http("global-discovery-select-response.http")
    token = _token(signer, directory, "anna.schmidt@contoso.com", service.url)
    response = _get(service, "Instances?$select=ApiUrl,FriendlyName", token, tls)
    assert response.status_code == status
    assert response.headers["Content-Type"] == headers["Content-Type"]
    document = response.json()
    assert document["@odata.context"].endswith("/api/discovery/v2.0/$metadata#Instances(ApiUrl,FriendlyName)")
    import json

    sample = json.loads(body)
    assert set(document) == set(sample)
    assert all(set(item) == set(sample["value"][0]) for item in document["value"])


def test_keys_and_case_sensitive_filter(
    discovery_setup: tuple[DiscoveryService, list[DataverseEnvironment]],
    directory: Directory,
    signer: TokenSigner,
    tls: SandboxTLS,
) -> None:
    service, environments = discovery_setup
    token = _token(signer, directory, "anna.schmidt@contoso.com", service.url)
    single = _get(service, "Instances(UniqueName='contosotest')", token, tls).json()
    assert "value" not in single and single["UniqueName"] == "contosotest"
    by_id = _get(service, f"Instances({environments[0].org.id})", token, tls).json()
    assert by_id["UniqueName"] == "contososales"
    assert _get(service, "Instances(UniqueName='nosuch')", token, tls).status_code == 404
    region = _get(service, "Instances(Region='EMEA')", token, tls).json()
    assert len(region["value"]) == 2
    exact = _get(service, "Instances?$filter=FriendlyName eq 'Contoso Test'", token, tls).json()["value"]
    assert [i["UniqueName"] for i in exact] == ["contosotest"]
    assert _get(service, "Instances?$filter=FriendlyName eq 'contoso test'", token, tls).json()["value"] == []
    assert (
        len(
            _get(
                service, "Instances?$filter=startswith(UniqueName,'contoso') and State eq 0", token, tls
            ).json()["value"]
        )
        == 2
    )
    assert _get(service, "Instances?$filter=contains(UniqueName,'TEST')", token, tls).json()["value"] == []
    assert _get(service, "Instances?$filter=NoSuch eq 1", token, tls).status_code == 400


def test_auth(
    discovery_setup: tuple[DiscoveryService, list[DataverseEnvironment]],
    directory: Directory,
    signer: TokenSigner,
    tls: SandboxTLS,
) -> None:
    service, environments = discovery_setup
    missing = _get(service, "Instances", None, tls)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    wrong_audience = _token(signer, directory, "anna.schmidt@contoso.com", environments[0].url)
    assert _get(service, "Instances", wrong_audience, tls).status_code == 401
