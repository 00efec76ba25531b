"""Fixtures shared by the integration tests: the stand-ins without demo data, a signed-in profile, and a
profile set up for the engine (organization added, computer claimed, mailbox bound). A test module that needs
other stand-ins (demo data, no EWS…) defines its own ``sandbox``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_engine import Setup, _configure
from tests.support.profiles import signed_in_profile
from wizard.app.factory import Factory
from wizard.sandbox import Sandbox


@pytest.fixture
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The stand-ins without demo data."""
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as box:
        yield box


@pytest.fixture
def setup(sandbox: Sandbox) -> Iterator[Setup]:
    """The first user's profile, ready for the engine (see ``tests.integration.test_engine._configure``)."""
    s = _configure(sandbox)
    try:
        yield s
    finally:
        s.store.close()


@pytest.fixture
def signed_in_factory(sandbox: Sandbox, isolated_home: Path) -> Factory:
    """A profile with Contoso Sales added (the first user signed in; it is the synchronizing organization)."""
    return signed_in_profile(sandbox)
