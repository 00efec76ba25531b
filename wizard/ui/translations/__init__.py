"""Built translation catalogs (``d365sync_<lang>.qm``), shipped as package data; made by
``python -m wizard.ui.build_translations`` and not committed (see wizard.ui.i18n)."""
