"""Global Discovery through the Factory layer: one sign-in, then every environment connects silently."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from wizard.app.factory import Factory
from wizard.app.orgs import connect_org, discover, save_org
from wizard.paths import locations
from wizard.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), ews=False, demo_data=False) as box:
        yield box


def test_discover_then_connect_silently(isolated_home: Path, sandbox: Sandbox) -> None:
    factory = Factory(locations().ensure())
    info = sandbox.port_info()
    user = info["users"][2]  # Ben Miller: member of Contoso Sales only
    upn, instances = discover(
        factory,
        discovery_url=info["discovery_url"],
        authority=info["authority_url"],
        ca_file=info["ca_file"],
        username=user["upn"],
        password=user["password"],
    )
    assert upn == user["upn"]
    assert [i.friendly_name for i in instances] == ["Contoso Sales"]
    grants_before = dict(sandbox.authority.grants)
    connected = connect_org(
        factory, instances[0].api_url, username=upn, authority=info["authority_url"], ca_file=info["ca_file"]
    )
    assert connected.org.display_name == "Contoso Sales"
    assert connected.org.user_id == user["systemuserids"]["contososales"]
    # no second password or device-code sign-in: the refresh token served the new resource
    assert sandbox.authority.grants.get("password", 0) == grants_before.get("password", 0)
    assert sandbox.authority.grants.get("device_code", 0) == grants_before.get("device_code", 0)
    assert save_org(factory, connected) is True
    assert factory.profile.sync_org_id == connected.org.id
