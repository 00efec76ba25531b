"""d365sync: the Dynamics 365 for Outlook Configuration Wizard and sync engine, without Outlook."""

__version__ = "0.1.0"
