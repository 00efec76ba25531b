"""`d365sync sync` when another computer takes over during the run (issue 11 item 7): the message says what
happened and that what ran before is kept, not "nothing was synchronized"."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

import pytest

from wizard.app.factory import Factory
from wizard.cli.output import NotSynchronizingComputer
from wizard.cli.sync import _run_and_show
from wizard.paths import locations
from wizard.sync.run import KindCounts, KindResult, KindRunStatus, RunStatus, RunSummary

TAKEN = "Another computer, PC-B, now synchronizes this organization; this computer stopped."


class _Engine:
    def __init__(self, summary: RunSummary) -> None:
        self.summary = summary

    def run_once(
        self, kinds: Any, *, dry_run: bool = False, force: bool = False, fresh: bool = False
    ) -> RunSummary:
        return self.summary


@pytest.fixture
def factory(isolated_home: Any) -> Factory:
    return Factory(locations().ensure())


def _args() -> argparse.Namespace:
    return argparse.Namespace(kind=None, dry_run=False, json=False, yes=False)


def _summary(kinds: list[KindResult]) -> RunSummary:
    now = datetime.now(UTC)
    return RunSummary(1, now, now, RunStatus.NOT_SYNC_COMPUTER, kinds)


def test_a_takeover_during_the_run_says_so_and_that_the_earlier_work_is_kept(factory: Factory) -> None:
    done = KindResult("contacts", KindCounts(created=3), KindCounts(), KindRunStatus.OK)
    stopped = KindResult("tasks", KindCounts(), KindCounts(), KindRunStatus.ERROR, TAKEN)
    with pytest.raises(NotSynchronizingComputer) as caught:
        _run_and_show(factory, _Engine(_summary([done, stopped])), _args())
    text = caught.value.user_text
    assert text.startswith(TAKEN) and "kept" in text and "nothing was synchronized" not in text


def test_not_the_synchronizing_computer_before_the_run_says_nothing_was_synchronized(
    factory: Factory,
) -> None:
    with pytest.raises(NotSynchronizingComputer) as caught:
        _run_and_show(factory, _Engine(_summary([])), _args())
    assert "nothing was synchronized" in caught.value.user_text
