"""The command line of ``python -m game.bots``: scripted players for a demo.

Walking is done here; measuring (``--report``) and spreading the players over
processes (``--procs``) are handed to the load tool, ``python -m bench.load``,
which takes the same flags.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time

from game.core import protocol as P
from game.core import rules

from .player import DEFAULT_PASSWORD_SUFFIX, load_net
from .stop import Stop, Stopped, sleep_until, take_sigint
from .swarm import TALK_EVERY_S, Swarm
from .walker import CROWD_HALF_H, CROWD_HALF_W


def report_help() -> str:
    """The fields of the --report line, from the load tool when it is here."""
    try:
        from bench.load.report import REPORT
    except ImportError:
        return "--report and --procs need the load tool (bench/load in the source tree)"
    return REPORT


def build_parser(prog: str = "python -m game.bots") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Scripted players that log in, walk around and, with --report,\n"
                    "measure how fast the host delivers their moves.  When the host\n"
                    "goes away they reconnect as the game does (every 0.5 to 5 s,\n"
                    "logging in again if it no longer knows their session) and say so\n"
                    "in the log.  Ctrl-C stops them.",
        epilog=report_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="http://127.0.0.1:5000", metavar="URL",
                        help="the host to join (default: %(default)s)")
    parser.add_argument("--players", type=int, default=10, metavar="N",
                        help="how many bots join (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=20.0, metavar="HZ",
                        help="position updates each bot sends per second while walking"
                             " (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=0.0, metavar="S",
                        help="how long to walk after everyone joined (and --warmup); "
                             "0 (the default) walks until Ctrl-C")
    area = parser.add_mutually_exclusive_group()
    area.add_argument("--crowd", dest="mode", action="store_const", const="crowd",
                      help=f"keep every bot within {2 * CROWD_HALF_W}x{2 * CROWD_HALF_H} px "
                           "around the spawn, so everyone sees everyone (the default)")
    area.add_argument("--spread", dest="mode", action="store_const", const="spread",
                      help="wander over the whole map instead")
    parser.set_defaults(mode="crowd")
    parser.add_argument("--report", action="store_true",
                        help="measure and print one JSON line at the end (fields below)")
    parser.add_argument("--procs", type=int, default=1, metavar="P",
                        help="spread the bots over P processes (latency is measured "
                             "between bots of the same process) (default: %(default)s)")
    parser.add_argument("--observers", type=int, default=12, metavar="K",
                        help="bots per process whose received snapshots are checked for "
                             "latency and delivery (the rest only walk and receive)"
                             " (default: %(default)s)")
    parser.add_argument("--deadline-ms", type=float, default=500.0, metavar="MS",
                        help="a move seen later than this counts as not delivered"
                             " (default: %(default)s)")
    parser.add_argument("--warmup", type=float, default=2.0, metavar="S",
                        help="seconds of walking after everyone joined before measuring"
                             " (default: %(default)s)")
    parser.add_argument("--prefix", default="bot", metavar="NAME",
                        help="account names are NAME0000, NAME0001, ... (password: the "
                             f"name followed by '{DEFAULT_PASSWORD_SUFFIX}'); an existing "
                             "account is logged in, a missing one registered "
                             "(default: %(default)s)")
    parser.add_argument("--first", type=int, default=0, metavar="I",
                        help="number of the first account, to run several tools at once"
                             " (default: %(default)s)")
    parser.add_argument("--map", default=None, metavar="PATH",
                        help="the host's Tiled map, for walls and the spawn "
                             "(default: the host's own, downloaded like the game does)")
    parser.add_argument("--seed", type=int, default=1,
                        help="random seed for the walks (default: %(default)s)")
    parser.add_argument("--talk", type=float, default=0.0, metavar="F",
                        help="share of the bots (0 to 1) that also say a line aloud to "
                             "whoever stands near them, every --talk-every seconds "
                             "(default: %(default)s, nobody talks)")
    parser.add_argument("--talk-every", type=float, default=TALK_EVERY_S, metavar="S",
                        help="seconds between two lines of one talking bot (the host allows "
                             f"{P.SAYS_PER_WINDOW} in {P.SAY_WINDOW_S:g} s) (default: %(default)s)")
    parser.add_argument("--log-level", default="WARNING",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="logging detail; INFO also says every 10 s how many bots walk"
                             " (default: %(default)s)")
    return parser


def parse_args(argv: list[str] | None = None,
               prog: str = "python -m game.bots") -> argparse.Namespace:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.players < 1 or args.rate <= 0 or args.seconds < 0 or args.procs < 1:
        parser.error("--players, --rate and --procs must be positive, --seconds not negative")
    if not 0.0 <= args.talk <= 1.0 or args.talk_every <= 0:
        parser.error("--talk must be between 0 and 1, --talk-every above 0")
    if args.rate > P.MOVES_PER_SECOND:
        parser.error(f"the host accepts at most {P.MOVES_PER_SECOND} moves a second")
    if args.report and args.seconds == 0:
        parser.error("--report needs --seconds above 0")
    return args


def measuring(args: argparse.Namespace) -> bool:
    """Whether the run is the load tool's: a report, or players over processes."""
    return args.report or args.procs > 1


def set_up_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("game.bots").setLevel(min(logging.INFO, logging.getLevelName(level)))


def load_world(args: argparse.Namespace) -> rules.WorldMap:
    """``--map``, or else the host's own start map (downloaded like the game does)."""
    if args.map:
        return rules.load_world(args.map)
    from .maps import HostMaps

    return HostMaps(args.server).start_map()


def walk(args: argparse.Namespace) -> int:
    """Fill the world with walking players until Ctrl-C (or ``--warmup`` plus
    ``--seconds``); 130 after Ctrl-C, 2 when no host answers."""
    Stop.requested = False
    take_sigint()
    net = load_net(green=True)
    set_up_logging(args.log_level)
    if not net.probe(args.server, timeout=3.0):
        print(f"no Pixel Commons host answers at {args.server}", file=sys.stderr)
        return 2
    try:
        swarm = Swarm(net.normalise_url(args.server), range(args.first, args.first + args.players),
                      load_world(args), mode=args.mode, rate=args.rate, prefix=args.prefix,
                      seed=args.seed, talk=args.talk, talk_every=args.talk_every)
        take_sigint()  # the clients just made installed socketio's handler
        try:
            swarm.log_in()
            swarm.wait_joined(30.0)
            swarm.run_receiver()
            swarm.start_walking()
            if args.seconds > 0:
                sleep_until(time.monotonic() + args.warmup + args.seconds)
            else:
                swarm.walk_until_stopped()
        finally:
            swarm.close()
    except (Stopped, KeyboardInterrupt):
        pass
    if Stop.requested:
        print("stopped (Ctrl-C)", file=sys.stderr, flush=True)
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if measuring(args):
        try:
            from bench.load.cli import measure
        except ImportError:
            print("--report and --procs need the load tool (bench/load in the source tree: "
                  "python -m bench.load)", file=sys.stderr)
            return 2
        return measure(args)
    return walk(args)
