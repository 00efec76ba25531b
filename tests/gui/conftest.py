"""GUI tests: the wizard offscreen against the real stand-ins (one sandbox per module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wizard.app.factory import Factory
from wizard.paths import locations
from wizard.sandbox import Sandbox
from wizard.ui import presets
from wizard.ui.presets import Preset


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as box:
        yield box


@pytest.fixture
def info(sandbox: Sandbox) -> dict[str, Any]:
    sandbox.faults.clear()
    return sandbox.port_info()


def hints_for(info: dict[str, Any], user: int = 0) -> Preset:
    return presets.sandbox(info, user)


@pytest.fixture
def hints(info: dict[str, Any]) -> Preset:
    return hints_for(info)


@pytest.fixture
def factory(isolated_home: Path) -> Factory:
    return Factory(locations().ensure())


@pytest.fixture
def make_wizard(qtbot: Any, factory: Factory) -> Iterator[Any]:
    from wizard.ui.app import create_wizard

    made: list[Any] = []

    def make(preset: Preset | None = None, svc: Factory | None = None) -> Any:
        wizard = create_wizard(svc or factory, preset=preset)
        wizard.confirm = lambda *_: True  # type: ignore[method-assign]  # closing at teardown must not wait for "Close the wizard?"
        qtbot.addWidget(wizard)
        wizard.show()
        made.append(wizard)
        return wizard

    yield make
    for wizard in made:
        wizard.controller.shutdown(10000)
