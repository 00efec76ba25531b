"""The profile model and its storage."""

from wizard.settings.profile import MailboxBinding, OrgProfile, Profile, SyncOptions
from wizard.settings.store import SCHEMA_VERSION, ProfileError, load_profile, save_profile

__all__ = [
    "SCHEMA_VERSION",
    "MailboxBinding",
    "OrgProfile",
    "Profile",
    "ProfileError",
    "SyncOptions",
    "load_profile",
    "save_profile",
]
