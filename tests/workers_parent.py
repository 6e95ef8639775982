"""The parent of ``host.py --workers N``, for tests: real host.py workers on
one port, each with its own database (worker I on FOLDER/wI.db) and one
shared key file (FOLDER/shared.key), run by ``server.workers.run`` as
host.py runs them (host.py itself asks for --redis above one worker).

    python -m tests.workers_parent FOLDER PORT ASYNC_MODE COUNT [HOST FLAGS...]
"""
from __future__ import annotations

import logging
import sys

from game.client.host_process import HostProcess
from server import workers


def main(argv: list[str]) -> int:
    folder, port, mode, count, *flags = argv
    logging.basicConfig(level="INFO", format=workers.log_format(None))

    def command(index: int, port: int, first: bool) -> list[str]:
        return workers.worker_command(
            ["--db", f"{folder}/w{index}.db", "--secret-file", f"{folder}/shared.key",
             "--async-mode", mode, "--log-level", "INFO", *HostProcess.LAB_ARGS, *flags],
            index, port, first)

    return workers.run(int(count), "127.0.0.1", int(port), command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
