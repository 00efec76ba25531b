"""The synchronizing computer (DESIGN section 1): read, take and give up the claim on the user's mailbox record."""

from __future__ import annotations

import socket

from wizard.app.factory import Factory
from wizard.crm import records


def hostname() -> str:
    """This computer's name, as the claim records it."""
    return socket.gethostname()


def read_claim(factory: Factory) -> records.Claim | None:
    return records.read_claim(factory.dataverse(factory.require_sync_org()))


def claim_instance(factory: Factory, *, force: bool = False) -> records.Claim:
    """Make this computer the synchronizing client; raises records.ClaimHeldElsewhere unless ``force``."""
    client = factory.dataverse(factory.require_sync_org())
    factory.forget_run_reads()
    return records.claim(client, factory.profile.instance_id, hostname(), force=force)


def release_claim(factory: Factory) -> bool:
    """This computer stops being the synchronizing client; False when it did not hold the claim."""
    factory.forget_run_reads()
    return records.release(factory.dataverse(factory.require_sync_org()), factory.profile.instance_id)
