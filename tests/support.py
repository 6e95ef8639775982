"""Test helpers: the real host process lives in game.client.host_process."""
from game.client.host_process import HostProcess, free_port  # noqa: F401
