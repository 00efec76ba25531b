"""Run d365sync commands against a real Secret Service (GNOME Keyring) in a private D-Bus session.

Started by tests/integration/test_keyring_profiles.py as ``dbus-run-session -- python -m
tests.support.secret_service_driver PLAN.json``: starts ``gnome-keyring-daemon --unlock --components=secrets``
(its keyrings under the plan's throw-away ``home``), waits until the Secret Service answers, runs the plan's
commands with ``PYTHON_KEYRING_BACKEND=keyring.backends.SecretService.Keyring``, prints one JSON document (each
command's exit code and output, the keyring's d365sync entry names and the accounts in each token cache,
never a secret) and stops the
daemon. The plan: ``{"home": DIR, "keyring_password": STR, "timeout": SECONDS, "steps": [{"home": DIR,
"args": [...], "stdin": STR}, ...]}``; a step's ``args`` may name an organization by ``"{org:N}"``, the id of
the first organization in step N's ``orgs list --json`` output.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from typing import Any

BACKEND = "keyring.backends.SecretService.Keyring"


def _environment(plan: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    home = plan["home"]
    env.update(
        HOME=home,
        XDG_DATA_HOME=os.path.join(home, "data"),
        XDG_CONFIG_HOME=os.path.join(home, "config"),
        XDG_CACHE_HOME=os.path.join(home, "cache"),
        XDG_RUNTIME_DIR=os.path.join(home, "run"),
        PYTHON_KEYRING_BACKEND=BACKEND,
    )
    os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)
    env.pop("CI_INTERACTIVE", None)
    return env


def _wait_for_secret_service(env: dict[str, str], deadline: float) -> None:
    probe = (
        "import keyring.backends.SecretService as s; k = s.Keyring(); "
        "k.set_password('d365sync-probe', 'probe', 'x'); k.delete_password('d365sync-probe', 'probe')"
    )
    while True:
        done = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=30, check=False
        )
        if done.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"the Secret Service did not answer: {done.stderr[-500:]}")
        time.sleep(0.2)


def _entries(env: dict[str, str]) -> dict[str, list[str] | None]:
    """Every d365sync entry by its keyring user name; for a token cache the user names of its accounts, for a
    password None (no secret leaves the keyring)."""
    script = (
        "import json, secretstorage\n"
        "bus = secretstorage.dbus_init()\n"
        "found = {}\n"
        "for collection in secretstorage.get_all_collections(bus):\n"
        "    for entry in collection.search_items({'service': 'd365sync'}):\n"
        "        name = entry.get_attributes().get('username', '')\n"
        "        accounts = None\n"
        "        if name.endswith('msal-token-cache'):\n"
        "            cache = json.loads(entry.get_secret().decode() or '{}')\n"
        "            accounts = sorted(a['username'] for a in cache.get('Account', {}).values())\n"
        "        found[name] = accounts\n"
        "print(json.dumps(found))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30, check=True
    )
    entries: dict[str, list[str] | None] = json.loads(done.stdout)
    return entries


def main(plan_file: str) -> int:
    with open(plan_file, encoding="utf-8") as handle:
        plan: dict[str, Any] = json.load(handle)
    deadline = time.monotonic() + float(plan.get("timeout", 240))
    env = _environment(plan)
    daemon = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    results: list[dict[str, Any]] = []
    try:
        assert daemon.stdin is not None
        daemon.stdin.write(plan["keyring_password"].encode())  # unlocks (creates) the login keyring
        daemon.stdin.close()
        _wait_for_secret_service(env, deadline)
        for step in plan["steps"]:
            args = [_resolve(a, results) for a in step["args"]]
            left = max(5.0, deadline - time.monotonic())
            done = subprocess.run(
                [sys.executable, "-m", "wizard", *args],
                input=step.get("stdin", ""),
                env={**env, "D365SYNC_HOME": step["home"]},
                capture_output=True,
                text=True,
                timeout=min(120.0, left),
                check=False,
            )
            results.append({"args": args, "returncode": done.returncode, "stdout": done.stdout,
                            "stderr": done.stderr})  # fmt: skip
        print(json.dumps({"steps": results, "entries": _entries(env)}))
    finally:
        daemon.terminate()
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(10)
    return 0


def _resolve(arg: str, results: list[dict[str, Any]]) -> str:
    found = re.fullmatch(r"\{org:(\d+)\}", arg)
    if not found:
        return arg
    listed = json.loads(results[int(found.group(1))]["stdout"])
    return str(listed["organizations"][0]["id"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
