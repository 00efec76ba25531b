"""A profile signed in to the stand-ins, as the wizard's Organizations page leaves it: the first demo user adds
Contoso Sales (user name and password, the stand-ins' CA), which becomes the synchronizing organization."""

from __future__ import annotations

from wizard.app import orgs
from wizard.app.factory import Factory
from wizard.paths import locations
from wizard.sandbox import Sandbox


def signed_in_profile(sandbox: Sandbox) -> Factory:
    """A new profile in the current ``D365SYNC_HOME`` with Contoso Sales added by the first user."""
    info = sandbox.port_info()
    user = info["users"][0]
    factory = Factory(locations().ensure())
    connected = orgs.connect_org(
        factory,
        info["dataverse_url"],
        username=user["upn"],
        password=user["password"],
        ca_file=info["ca_file"],
    )
    orgs.save_org(factory, connected)
    return factory
