"""The PySide6 GUI (the only package that imports Qt): the Configuration Wizard, its controller and workers.

Entry point for the command line: :func:`wizard.ui.app.run_wizard`.
"""
