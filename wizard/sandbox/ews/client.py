"""Make exchangelib trust the sandbox CA (and nothing else) without disabling certificate checks.

exchangelib builds its HTTP adapters from ``BaseProtocol.HTTP_ADAPTER_CLS``; :func:`ca_adapter` returns an
adapter class that verifies every connection against one CA bundle, so tests and ``d365sync demo`` can talk to
the loopback stand-in over real TLS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests.adapters


def ca_adapter(ca_file: Path | str) -> type[requests.adapters.HTTPAdapter]:
    """An HTTPAdapter subclass whose connections verify against ``ca_file``."""
    bundle = str(ca_file)

    class SandboxCAAdapter(requests.adapters.HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("verify") is not False:
                kwargs["verify"] = bundle
            return super().send(request, *args, **kwargs)

    return SandboxCAAdapter
