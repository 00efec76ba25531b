"""The Microsoft Graph stand-in (``/v1.0/me/...``): mail, contacts, events, To Do tasks, delta, $batch."""

from wizard.sandbox.graph.server import GraphStandIn

__all__ = ["GraphStandIn"]
