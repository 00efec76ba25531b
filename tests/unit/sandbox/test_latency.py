"""``Sandbox(latency_ms=…)`` and ``d365sync sandbox --latency-ms N``: every stand-in waits before each answer."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from wizard.cli import sandbox as cli_sandbox
from wizard.cli.main import build_parser
from wizard.sandbox import Sandbox
from wizard.sandbox._http import SandboxHandler, SandboxServer


class _Ok(SandboxHandler):
    def route(self, method: str, body: bytes) -> None:
        self.send_bytes(200, b"ok", "text/plain")


def _round_trip(session: requests.Session, url: str) -> float:
    start = time.perf_counter()
    assert session.get(url, timeout=10).status_code == 200
    return time.perf_counter() - start


def test_server_latency_delays_every_answer_and_survives_clearing_faults() -> None:
    server = SandboxServer(_Ok).start()
    try:
        with requests.Session() as session:
            _round_trip(session, server.base_url)  # connect
            assert _round_trip(session, server.base_url) < 0.15
            server.latency = 0.2
            server.faults.clear()  # a test clearing its faults leaves the network's latency alone
            for _ in range(2):
                assert _round_trip(session, server.base_url) >= 0.2
    finally:
        server.stop()


def test_sandbox_sets_latency_on_every_stand_in(tmp_path: Path) -> None:
    with Sandbox(tmp_path, demo_data=False, latency_ms=30) as box:
        services = [box.authority, box.discovery, box.ews, box.graph, box.onprem, *box.environments]
        assert all(s is not None for s in services)
        assert {s.server.latency for s in services} == {0.03}
    with Sandbox(tmp_path / "plain", demo_data=False, ews=False, graph=False, onprem=False) as box:
        assert {s.server.latency for s in [box.authority, box.discovery, *box.environments]} == {0.0}


def test_sandbox_rejects_negative_latency() -> None:
    with pytest.raises(ValueError, match="latency_ms"):
        Sandbox(latency_ms=-1)


def test_cli_option_reaches_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    class Stop(Exception):
        pass

    class FakeSandbox:
        def __init__(self, data_dir: Path | None, **kwargs: Any) -> None:
            seen.update(kwargs)
            raise Stop

    import wizard.sandbox

    monkeypatch.setattr(wizard.sandbox, "Sandbox", FakeSandbox)
    args = build_parser().parse_args(["sandbox", "--latency-ms", "50"])
    assert args.latency_ms == 50
    with pytest.raises(Stop):
        cli_sandbox.cmd_sandbox(None, args)  # type: ignore[arg-type]
    assert seen["latency_ms"] == 50
    assert build_parser().parse_args(["sandbox"]).latency_ms == 0


@pytest.mark.parametrize("value", ["-5", "fast"])
def test_cli_option_rejects_bad_values(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["sandbox", "--latency-ms", value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--latency-ms" in err and "Traceback" not in err
    assert isinstance(cli_sandbox._latency_ms("0"), int)
    with pytest.raises(argparse.ArgumentTypeError):
        cli_sandbox._latency_ms(value)
