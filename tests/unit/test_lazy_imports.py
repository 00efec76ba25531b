"""A command imports only what it uses (issue 15, item 5): the heavy optional libraries of one backend or
sign-in method are loaded where that backend or method is built, not when the command line starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("requests_ntlm", "spnego", "exchangelib", "PySide6", "lxml")


def _loaded(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120, check=True
    )
    return result.stdout.split()


def test_the_command_line_and_the_factory_load_no_backend_and_no_ntlm() -> None:
    assert _loaded("import wizard.cli.main, wizard.app.factory, wizard.crm.auth, wizard.mailbox") == []


def test_ntlm_is_loaded_when_an_ntlm_sign_in_is_built() -> None:
    loaded = _loaded("from wizard.crm.auth import ntlm_auth\nntlm_auth('CONTOSO\\\\anna', 'pw')")
    assert "requests_ntlm" in loaded and "exchangelib" not in loaded
