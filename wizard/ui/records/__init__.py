"""The Records window (issue 14): the records that go offline, listed, searched and edited online or offline."""

from wizard.ui.records.window import RecordsWindow

__all__ = ["RecordsWindow"]
