"""The command line (DESIGN section 3): one module per command group, ``output`` for what it shows and asks,
``main`` for the parser. The CLI only parses, asks and shows; the use cases come from ``wizard.app``.

``--json`` output is a documented, stable contract (docs/cli.md).
"""

from wizard.cli.main import main
from wizard.cli.output import EXIT_FAILURE, EXIT_NOT_CONFIGURED, EXIT_OK, EXIT_USAGE

__all__ = ["EXIT_FAILURE", "EXIT_NOT_CONFIGURED", "EXIT_OK", "EXIT_USAGE", "main"]
