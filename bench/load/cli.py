"""``python -m bench.load``: measure a host with scripted players.

It takes the flags of ``python -m game.bots`` (which hands ``--report`` and
``--procs`` runs to ``measure`` here); see ``--help``.
"""
from __future__ import annotations

import argparse
import json
import sys

from game.bots import load_net
from game.bots.cli import parse_args, set_up_logging
from game.bots.stop import Stop, Stopped, take_sigint

from .procs import run


def measure(args: argparse.Namespace) -> int:
    """Run the players as parsed by ``game.bots.cli.parse_args``; prints the
    report line with --report.  0, or 1 without a report, 2 when no host
    answers, 130 after Ctrl-C."""
    Stop.requested = False
    take_sigint()
    net = load_net(green=args.procs == 1)
    set_up_logging(args.log_level)
    if not net.probe(args.server, timeout=3.0):
        print(f"no Pixel Commons host answers at {args.server}", file=sys.stderr)
        return 2
    try:
        report = run(args)
    except (Stopped, KeyboardInterrupt):
        report = None
    if Stop.requested:
        print("stopped (Ctrl-C)", file=sys.stderr, flush=True)
        return 130
    if args.report:
        if report is None:
            print("no report: the run was interrupted", file=sys.stderr)
            return 1
        print(json.dumps(report), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    return measure(parse_args(argv, prog="python -m bench.load"))
