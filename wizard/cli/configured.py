"""What the commands need configured, with the command line's texts: an organization named by the user, the
synchronizing organization (saying how to add one when there is none to choose)."""

from __future__ import annotations

from wizard.app.factory import Factory, NotConfigured
from wizard.cli.output import UnknownOrganization
from wizard.settings import OrgProfile

NO_ORGANIZATION_TEXT = (
    "No organization is configured yet, so nothing can be synchronized. Add one: d365sync orgs add URL "
    "(or open the Configuration Wizard: d365sync wizard)"
)


def find_org(factory: Factory, ident: str) -> OrgProfile:
    """A configured organization by id or unique name; :class:`UnknownOrganization` (exit 2) otherwise."""
    try:
        return factory.org(ident)
    except NotConfigured as error:
        text = (
            f"No configured organization has the id {ident}. See: d365sync orgs list"
            if factory.profile.organizations
            else f"No configured organization has the id {ident}: none is configured. "
            "Add one: d365sync orgs add URL"
        )
        raise UnknownOrganization(str(error), user_text=text) from error


def require_sync_org(factory: Factory) -> OrgProfile:
    """The synchronizing organization; :class:`NotConfigured` (exit 3) saying what to do when there is none:
    add an organization when none is configured, else choose one of them."""
    if not factory.profile.organizations:
        raise NotConfigured("no organization", user_text=NO_ORGANIZATION_TEXT)
    return factory.require_sync_org()
