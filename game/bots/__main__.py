"""``python -m game.bots``: see ``game.bots.cli`` and ``--help``."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
