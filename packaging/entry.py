"""The frozen program's entry point (PyInstaller): the ``d365sync`` command, and ``-m wizard.<module>``.

The status window runs the sync engine in a child process as ``sys.executable -m wizard.app.worker``.
In a bundle ``sys.executable`` is this program, not a Python interpreter, so it understands that form too.
Only modules of the wizard package are run that way: the bundle is not a general Python interpreter.
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) >= 2 and args[0] == "-m" and (args[1] == "wizard" or args[1].startswith("wizard.")):
        module = args[1]
        sys.argv = [module, *args[2:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)  # such a module ends with sys.exit()
        return 0
    from wizard.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
