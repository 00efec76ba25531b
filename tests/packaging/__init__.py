"""Tests of packaging/: desktop integration files, the PyInstaller spec and bundle."""
