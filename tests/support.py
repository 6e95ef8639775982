"""Test helpers: the real host process lives in game.host_process."""
from game.host_process import HostProcess, free_port  # noqa: F401
