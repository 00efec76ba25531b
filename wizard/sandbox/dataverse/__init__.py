"""sandbox/dataverse: the Dataverse Web API and Global Discovery stand-ins.

``DataverseEnvironment`` (one per Dynamics 365 environment, in :mod:`.server`) and ``DiscoveryService``
(:mod:`.discovery`) are the public entry points; they are imported lazily so that importing a helper
module (schema, store, the query parsers) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.sandbox.dataverse.discovery import DiscoveryService
    from wizard.sandbox.dataverse.server import DataverseEnvironment
    from wizard.sandbox.dataverse.store import Store

__all__ = ["DataverseEnvironment", "DiscoveryService", "Store"]


def __getattr__(name: str) -> Any:
    if name == "DataverseEnvironment":
        from wizard.sandbox.dataverse.server import DataverseEnvironment

        return DataverseEnvironment
    if name == "DiscoveryService":
        from wizard.sandbox.dataverse.discovery import DiscoveryService

        return DiscoveryService
    if name == "Store":
        from wizard.sandbox.dataverse.store import Store

        return Store
    raise AttributeError(name)
