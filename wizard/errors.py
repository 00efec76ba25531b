"""The one error hierarchy of the product.

Every failure that reaches a user is a :class:`D365SyncError`: it carries a message for people
(``user_text``), a severity that decides how much of a run is abandoned (DESIGN section 7) and whether
trying again later can help (``retriable``). Messages never contain secrets.
"""

from __future__ import annotations

import enum


class Severity(enum.IntEnum):
    """How much of a run a failure abandons (OfflineIMAP's ladder)."""

    ITEM = 1  # skip this item, go on with the kind
    KIND = 2  # stop this kind (contacts, tasks, ...), go on with the others
    ACCOUNT = 3  # stop everything that talks to this organization or mailbox
    FATAL = 4  # stop the program's current command


class D365SyncError(Exception):
    """Base class: a failure with a user-facing text and a severity."""

    severity: Severity = Severity.ACCOUNT
    retriable: bool = False

    def __init__(
        self,
        message: str,
        *,
        user_text: str | None = None,
        severity: Severity | None = None,
        retriable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.user_text = user_text or message
        if severity is not None:
            self.severity = severity
        if retriable is not None:
            self.retriable = retriable

    def __str__(self) -> str:
        return self.message


class ConfigurationError(D365SyncError):
    """The local profile or an argument is not usable (bad URL, corrupted file, nothing configured)."""

    severity = Severity.FATAL


class SecretStoreError(D365SyncError):
    """The OS keyring (or the encrypted token cache) is not available or refused an operation."""

    severity = Severity.FATAL


class RuleViolation(D365SyncError):
    """One of the four "only one" rules (DESIGN section 1) refuses what was asked."""

    severity = Severity.FATAL
