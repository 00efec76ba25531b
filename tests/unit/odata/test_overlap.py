"""wizard.odata.overlap: calls overlap up to the gate's limit, answers come back in order, the server's hint
caps the limit, a pause holds back every thread, a failing call leaves the others' answers."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable

import pytest

from wizard.odata.overlap import Gate, InOrder, checked_limit, run_in_order


class Recorder:
    """Calls that sleep a while and count how many run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.threads: set[int] = set()

    def call(self, value: int, seconds: float = 0.05) -> Callable[[], int]:
        def run() -> int:
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
                self.threads.add(threading.get_ident())
            try:
                time.sleep(seconds)
                return value
            finally:
                with self.lock:
                    self.now -= 1

        return run


def test_calls_overlap_up_to_the_limit_and_answers_come_back_in_order() -> None:
    rec = Recorder()
    gate = Gate(4)
    # later calls finish first: the answers must still come back in submission order
    calls = [rec.call(n, seconds=0.02 * (10 - n)) for n in range(10)]
    answers = run_in_order(gate, calls)
    assert [a.result() for a in answers] == list(range(10))
    assert 1 < rec.most <= 4
    assert gate.most_busy <= 4


def test_a_limit_of_one_runs_each_call_on_the_calling_thread_one_after_the_other() -> None:
    rec = Recorder()
    answers = run_in_order(Gate(1), [rec.call(n, 0.01) for n in range(5)])
    assert [a.result() for a in answers] == list(range(5))
    assert rec.most == 1
    assert rec.threads == {threading.get_ident()}


def test_the_servers_hint_caps_the_limit() -> None:
    rec = Recorder()
    gate = Gate(8)
    gate.hint("2")
    assert gate.limit == 2
    run_in_order(gate, [rec.call(n) for n in range(8)])
    assert rec.most == 2
    gate.hint("not a number")  # ignored
    gate.hint(0)  # ignored
    assert gate.limit == 2


def test_a_pause_holds_back_the_other_threads_not_the_one_that_was_told() -> None:
    gate = Gate(4)
    started: dict[int, float] = {}
    paused_at: list[float] = []

    def call(n: int) -> Callable[[], int]:
        def run() -> int:
            started[n] = time.monotonic()
            if n == 0:
                gate.pause(0.4)  # the answer to this one said Retry-After
                paused_at.append(time.monotonic())
                assert gate.wait_for_pause() == 0.0  # its own retry policy waits, not the gate
            time.sleep(0.05)
            return n

        return run

    with InOrder[int, int](gate) as pipe:
        pipe.submit(0, call(0))
        time.sleep(0.1)  # the pause is set before the others are sent
        for n in range(1, 4):
            pipe.submit(n, call(n))
        assert [key for key, _ in pipe.drain()] == [0, 1, 2, 3]
    assert all(started[n] >= paused_at[0] + 0.35 for n in range(1, 4))


def test_a_failing_call_among_several_leaves_the_others_answers() -> None:
    rec = Recorder()

    def boom() -> int:
        time.sleep(0.02)
        raise ConnectionError("dropped")

    calls = [rec.call(0), boom, rec.call(2), rec.call(3)]
    answers = run_in_order(Gate(4), calls)
    assert [a.value for a in answers] == [0, None, 2, 3]
    assert isinstance(answers[1].error, ConnectionError)
    with pytest.raises(ConnectionError):
        answers[1].result()


def test_leaving_early_waits_for_the_calls_on_the_wire() -> None:
    finished: list[int] = []

    def slow(n: int) -> Callable[[], int]:
        def run() -> int:
            time.sleep(0.1)
            finished.append(n)
            return n

        return run

    with pytest.raises(RuntimeError), InOrder[int, int](Gate(4)) as pipe:
        for n in range(3):
            pipe.submit(n, slow(n))
        raise RuntimeError("the caller stops")
    assert sorted(finished) == [0, 1, 2]  # none abandoned mid-request


def test_a_nested_bulk_call_in_a_worker_runs_in_sequence_instead_of_waiting_for_a_slot() -> None:
    gate = Gate(2)

    def outer(n: int) -> Callable[[], list[int]]:
        def run() -> list[int]:
            calls = [functools.partial(int, m) for m in range(3)]
            inner = run_in_order(gate, calls)  # would deadlock if it took slots of its own
            return [n, *(a.result() for a in inner)]

        return run

    answers = run_in_order(gate, [outer(n) for n in range(4)])
    assert [a.result() for a in answers] == [[n, 0, 1, 2] for n in range(4)]


@pytest.mark.parametrize("value", [0, 17, -1, True, 2.5])
def test_a_limit_out_of_range_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="from 1 to 16"):
        checked_limit(value)  # type: ignore[arg-type]
