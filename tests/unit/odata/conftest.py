from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.odata.replay import ReplayServer


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    server = ReplayServer()
    try:
        yield server
    finally:
        server.stop()


class Sleeps(list[float]):
    """An injectable sleeper that records the waits instead of sleeping."""

    def __call__(self, seconds: float, /) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
