"""The application layer: the use cases that the command line and the GUI share.

``factory`` is the only composition root (it builds every networked object from the profile); each other
module is one use case. The faces (``wizard.cli``, ``wizard.ui``) only parse, ask and show.
"""
