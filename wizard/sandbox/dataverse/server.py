"""The Dataverse Web API stand-in's entry points, as tests, benchmarks and ``wizard.sandbox`` import them.

One :class:`DataverseEnvironment` (:mod:`.environment`) per Dynamics 365 environment; the Web API itself is
:mod:`.webapi` (reads in :mod:`.read`, writes in :mod:`.write`, change tracking in :mod:`.tracking`), the HTTP
front :mod:`.handler`.
"""

from __future__ import annotations

from wizard.sandbox.dataverse.environment import DataverseEnvironment
from wizard.sandbox.dataverse.protocol import served_versions

__all__ = ["DataverseEnvironment", "served_versions"]
