"""Fixtures shared by the integration tests that drive wizard.app against the stand-ins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from wizard.app import orgs
from wizard.app.factory import Factory
from wizard.paths import locations
from wizard.sandbox import Sandbox


@pytest.fixture
def empty_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The stand-ins without demo data."""
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as box:
        yield box


@pytest.fixture
def signed_in_factory(empty_sandbox: Sandbox, isolated_home: Path) -> Factory:
    """A profile with Contoso Sales added (the first user signed in; it is the synchronizing organization)."""
    info = empty_sandbox.port_info()
    user = info["users"][0]
    factory = Factory(locations().ensure())
    connected = orgs.connect_org(
        factory,
        info["dataverse_url"],
        username=user["upn"],
        password=user["password"],
        ca_file=info["ca_file"],
    )
    orgs.save_org(factory, connected)
    return factory
