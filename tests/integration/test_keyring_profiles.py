"""Two profiles of one operating-system account against a real Secret Service (issue 16).

GNOME Keyring runs in a private D-Bus session (``dbus-run-session``), unlocked by the test; the real CLI signs in
to one organization of the stand-ins as two users in two ``D365SYNC_HOME``s, in both orders, and both profiles
stay signed in; removing one profile's organization leaves the other signed in.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from wizard.sandbox import Sandbox

TIMEOUT = 300  # seconds for the whole session: daemon, ten commands, the listing
SIGNED_OUT = "sign-in has expired"

_missing = [tool for tool in ("dbus-run-session", "gnome-keyring-daemon") if shutil.which(tool) is None]
try:
    import secretstorage  # noqa: F401 - the keyring's Secret Service backend needs it
except ImportError:
    _missing.append("the Python package secretstorage")
pytestmark = pytest.mark.skipif(
    bool(_missing),
    reason=f"a real Secret Service needs {', '.join(_missing)} "
    "(Debian: apt-get install gnome-keyring dbus; .ci/run installs them)",
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), ews=False) as box:
        yield box


def _run_session(tmp_path: Path, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Run ``steps`` under dbus-run-session with GNOME Keyring; bounded by TIMEOUT, every process ended."""
    session_home = tmp_path / "session"
    session_home.mkdir()
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps({"home": str(session_home), "keyring_password": "throw-away", "timeout": TIMEOUT - 30,
                    "steps": steps}),
        encoding="utf-8",
    )  # fmt: skip
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    proc = subprocess.Popen(
        ["dbus-run-session", "--", sys.executable, "-m", "tests.support.secret_service_driver", str(plan)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # one process group: the bus, the daemon and the commands end together
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"the Secret Service session took longer than {TIMEOUT} s")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything of the session still alive (the daemon, the bus)
    assert proc.returncode == 0, err[-3000:]
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _ok(step: dict[str, Any]) -> None:
    assert step["returncode"] == 0, f"{step['args']}: {step['stdout']}{step['stderr']}"
    assert SIGNED_OUT not in step["stdout"] + step["stderr"]


@pytest.mark.parametrize("first", [0, 1], ids=["p0-first", "p1-first"])
def test_two_profiles_two_users_one_organization_stay_signed_in(
    tmp_path: Path, sandbox: Sandbox, first: int
) -> None:
    info = sandbox.port_info()
    url = info["environments"][0]["url"]
    users = [u for u in info["users"] if u["upn"].startswith(("anna.", "joerg."))]
    homes = [str(tmp_path / "p0"), str(tmp_path / "p1")]
    order = (first, 1 - first)

    def add(index: int) -> dict[str, Any]:
        user = users[index]
        return {"home": homes[index], "stdin": user["password"] + "\n",
                "args": ["orgs", "add", url, "--ca-file", info["ca_file"], "--username", user["upn"],
                         "--password-stdin"]}  # fmt: skip

    steps: list[dict[str, Any]] = [add(order[0]), add(order[1])]  # 0, 1
    steps += [{"home": homes[i], "args": ["orgs", "list", "--json"]} for i in (0, 1)]  # 2, 3
    for i in order:  # what the issue reproduces: set-sync and instance show after the other profile signed in
        steps.append({"home": homes[i], "args": ["orgs", "set-sync", f"{{org:{2 + i}}}", "--yes"]})
        steps.append({"home": homes[i], "args": ["instance", "show"]})
    # Removing the organization of the profile that signed in first leaves the other one signed in.
    steps.append({"home": homes[order[0]], "args": ["orgs", "remove", f"{{org:{2 + order[0]}}}", "--yes"]})
    steps.append({"home": homes[order[1]], "args": ["instance", "show"]})
    steps.append({"home": homes[order[1]], "args": ["orgs", "set-sync", f"{{org:{2 + order[1]}}}", "--yes"]})

    result = _run_session(tmp_path, steps)
    done = result["steps"]
    assert len(done) == len(steps)
    for step in done[:4]:
        _ok(step)
    for step in done[4:8]:
        _ok(step)
    assert all("Contoso Sales is now the synchronizing organization" in done[i]["stdout"] for i in (4, 6))
    removed, after = done[8], done[9:]
    _ok(removed)
    assert "Removed" in removed["stdout"]
    for step in after:
        _ok(step)

    # The entries are named by profile; no entry keeps the shared name of earlier versions; the profile whose
    # organization was removed has signed out its account, the other profile's account stays.
    ids = [json.loads((Path(h) / "config" / "profile.json").read_text())["instance_id"] for h in homes]
    entries = result["entries"]
    assert "msal-token-cache" not in entries
    assert all(name.startswith("profile:") for name in entries), entries
    removed_cache = entries[f"profile:{ids[order[0]]}/msal-token-cache"]
    kept_cache = entries[f"profile:{ids[order[1]]}/msal-token-cache"]
    assert removed_cache == []
    assert kept_cache == [users[order[1]]["upn"]]
