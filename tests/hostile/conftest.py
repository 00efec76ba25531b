"""Hostile-server tests: every protocol path against :mod:`tests.support.hostile` (issue 11)."""

from tests.support.hostile import hostile, hostile_ca, hostile_pair  # noqa: F401 (fixtures)
