"""What to synchronize: the user's Outlook sync filters and sync settings in the synchronizing organization,
and the profile's sync options (the wizard's "What to synchronize" page).

The filters are the user's ``userquery`` rows of query type 256; the settings are ``usersettings``'
``incomingemailfilteringmethod`` (which incoming email is tracked, 0 all .. 4 none) and ``outlooksyncinterval``
(minutes), bounded below by the organization's ``minoutlooksyncinterval``.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

from wizard.app.factory import Factory
from wizard.crm import filters as crm_filters
from wizard.crm.client import DataverseClient
from wizard.crm.entities import UserQuery
from wizard.crm.metadata import Label, read_labels
from wizard.errors import D365SyncError
from wizard.settings.profile import SyncOptions

log = logging.getLogger(__name__)

DEFAULT_MIN_INTERVAL = 15  # minutes, when the organization states no minimum


@dataclass
class OptionsState:
    """What the "What to synchronize" page shows, as read from the synchronizing organization."""

    org_name: str
    filters: list[UserQuery]
    tracking: int  # usersettings.incomingemailfilteringmethod 0..4
    interval: int | None  # usersettings.outlooksyncinterval
    min_interval: int  # organization.minoutlooksyncinterval
    sync: SyncOptions
    #: the organization's display names of the synced columns, by table and column, in each of its languages
    #: (empty when the metadata could not be read: the dialog then shows our own names)
    field_labels: dict[str, dict[str, Label]] = field(default_factory=dict)


@dataclass
class OptionsChoice:
    """What the user chose on the "What to synchronize" page; written on Finish."""

    sync: SyncOptions
    tracking: int | None = None  # None: leave the server's value alone
    interval: int | None = None
    filter_active: dict[str, bool] = field(default_factory=dict)  # userqueryid -> wanted state
    selected_tracking: int | None = None  # what the page shows (for the summary), changed or not


def load_options(factory: Factory) -> OptionsState:
    """Read the filters, the user's settings and the organization's minimum interval (network); the profile's
    sync options are a copy."""
    org = factory.require_sync_org()
    client = factory.dataverse(org)
    user = client.user_settings(org.user_id or None)
    minimum = client.organization_settings().minoutlooksyncinterval or DEFAULT_MIN_INTERVAL
    return OptionsState(
        org_name=org.display_name,
        filters=crm_filters.outlook_filters(client),
        tracking=user.incomingemailfilteringmethod,
        interval=user.outlooksyncinterval,
        min_interval=minimum,
        sync=copy.deepcopy(factory.profile.sync),
        field_labels=_field_labels(client),
    )


#: the tables whose columns the Synchronization Fields dialog names
SYNCED_TABLES = ("contact", "appointment", "task")


def _field_labels(client: DataverseClient) -> dict[str, dict[str, Label]]:
    labels: dict[str, dict[str, Label]] = {}
    for table in SYNCED_TABLES:
        try:
            labels[table] = read_labels(client.session, table)
        except D365SyncError as error:  # names are a nicety: the page works with our own
            log.info("options: no column names of %s from the organization: %s", table, error)
    return labels


def create_default_filters(factory: Factory) -> list[UserQuery]:
    """Create the default sync filters when the user has none (active contacts I own, open appointments where
    I'm a party, open tasks I own), named in the user's Dynamics 365 language as the original names them
    ("Meine Outlook-Kontakte"; :func:`wizard.crm.filters.ensure_default_filters`, the same rule as the engine's
    first synchronization); the user's filters afterwards."""
    return crm_filters.ensure_default_filters(factory.dataverse(factory.require_sync_org()))


def apply_options(factory: Factory, choice: OptionsChoice) -> None:
    """Write the filters' states and the user settings that changed to the synchronizing organization, then
    take the sync options into the profile (not saved: the caller saves)."""
    org = factory.profile.sync_org
    if org is not None and (choice.filter_active or choice.tracking is not None or choice.interval):
        client = factory.dataverse(org)
        for query_id, active in choice.filter_active.items():
            crm_filters.set_active(client, query_id, active)
        changes: dict[str, Any] = {}
        if choice.tracking is not None:
            changes["incomingemailfilteringmethod"] = choice.tracking
        if choice.interval:
            changes["outlooksyncinterval"] = choice.interval
        if changes:
            user_id = org.user_id or client.whoami().user_id
            client.update("usersettingscollection", user_id, changes)
    factory.profile.sync = copy.deepcopy(choice.sync)
