"""``python -m edl.cli``: the same as the ``edl`` command."""

import sys

from . import main

__all__: list[str] = []


if __name__ == "__main__":
    sys.exit(main())
