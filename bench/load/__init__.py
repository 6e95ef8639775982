"""The load tool: scripted players that measure how fast a host delivers their moves.

    python -m bench.load --server http://127.0.0.1:5000 --players 200 --rate 20 \\
        --seconds 20 --crowd --report [--procs 2]

The players are the demo's (``game.bots``: the same walks, logins and
reconnects); this package adds the measuring, by job:

- ``measure``: which (move, observer) pairs are expected and when each was
  delivered (``MeasuringSwarm``);
- ``procs``: one process or several (``--procs``) sharing one window;
- ``host``: the host's and the machine's CPU and the host's /api/stats;
- ``report``: the report line, the figures merged over processes, and the
  verdict on whether the tool measured itself (``judge_run``);
- ``transport``: every library internal the tool relies on, and nothing else;
- ``cli``: the command line (the flags of ``python -m game.bots``).

``bench/node_load.py`` drives the Node generator with the same walks and
definitions, and judges its runs with ``judge_run`` and ``measure_host``.
"""
from .host import host_process, measure_host, wait_measured
from .measure import VIEW_MARGIN_PX
from .report import REPORT, judge_run, merge_counts, percentile

__all__ = ["REPORT", "VIEW_MARGIN_PX", "host_process", "judge_run", "measure_host",
           "merge_counts", "percentile", "wait_measured"]
