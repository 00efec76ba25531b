"""Fixtures for the Dataverse / Global Discovery stand-in contract tests: real HTTPS, real tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from wizard.sandbox.dataverse.discovery import DiscoveryService
from wizard.sandbox.dataverse.server import DataverseEnvironment
from wizard.sandbox.directory import Directory, DirectoryUser, demo_directory
from wizard.sandbox.tls import SandboxTLS, make_tls
from wizard.sandbox.tokens import TokenSigner

AUTHORITY = "https://127.0.0.1:9/adfs"


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> SandboxTLS:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def signer() -> TokenSigner:
    return TokenSigner()


@pytest.fixture
def directory() -> Directory:
    return demo_directory()


class Client:
    """A requests session against one environment's Web API, signed in as one directory user."""

    def __init__(self, env: DataverseEnvironment, user: DirectoryUser, signer: TokenSigner, ca: Path) -> None:
        self.env = env
        self.user = user
        self.api = env.url + "/api/data/v9.2/"
        self.session = requests.Session()
        self.session.verify = str(ca)
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would override session.verify
        token = signer.issue(oid=user.oid, upn=user.upn, tenant_id="t", audience=env.url)
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "OData-MaxVersion": "4.0",
                "OData-Version": "4.0",
            }
        )
        self.user_id = user.systemuserid(env.org)

    def url(self, path: str) -> str:
        return path if path.startswith("https://") else self.api + path

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url(path), timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url(path), timeout=30, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.patch(self.url(path), timeout=30, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.put(self.url(path), timeout=30, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.delete(self.url(path), timeout=30, **kwargs)

    def create(self, entity_set: str, body: dict[str, Any]) -> str:
        response = self.post(entity_set, json=body)
        assert response.status_code == 204, response.text
        return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


@pytest.fixture
def env(directory: Directory, signer: TokenSigner, tls: SandboxTLS) -> Iterator[DataverseEnvironment]:
    """An environment without demo data (only the org, business unit, users, mailboxes, user settings)."""
    environment = DataverseEnvironment(
        directory, directory.orgs[0], signer=signer, tls=tls, authority_url=AUTHORITY, demo_data=False
    ).start()
    try:
        yield environment
    finally:
        environment.stop()


@pytest.fixture
def client(env: DataverseEnvironment, directory: Directory, signer: TokenSigner, tls: SandboxTLS) -> Client:
    return Client(env, directory.users[0], signer, tls.ca_file)


@pytest.fixture
def discovery_setup(
    directory: Directory, signer: TokenSigner, tls: SandboxTLS
) -> Iterator[tuple[DiscoveryService, list[DataverseEnvironment]]]:
    environments = [
        DataverseEnvironment(directory, org, signer=signer, tls=tls, authority_url=AUTHORITY, demo_data=False)
        for org in directory.orgs
    ]
    service = DiscoveryService(
        directory, environments, signer=signer, tls=tls, authority_url=AUTHORITY
    ).start()
    try:
        yield service, environments
    finally:
        service.stop()
        for environment in environments:
            environment.store.close()
