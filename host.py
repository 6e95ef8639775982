"""Pixel Commons host: run the shared world for you and your friends.

    python host.py                      # serve on 127.0.0.1:5000
    python host.py --host 0.0.0.0       # let others on your network join
    python host.py --map myworld/       # a world of several maps linked by exits
    python host.py --check-map my.tmx   # what the host finds in a map, then exit
    python host.py --owner alice --invite-only   # alice runs it; only invited names register
    python host.py admin --help         # keep order from the command line (host running or not)

Players register and log in over HTTP, then play over Socket.IO.  Ctrl-C or
SIGTERM saves every connected player's position before the host exits.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys


def _network(text: str) -> str:
    """An address or CIDR network, for --trusted-proxy."""
    import ipaddress

    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an address or network: {text!r}") from None
    return text


def _host_name(text: str) -> str:
    """A bare host name, for --public-name."""
    if not text.strip() or any(c in text for c in "/:@ "):
        raise argparse.ArgumentTypeError(f"not a host name (no scheme or port): {text!r}")
    return text


def _account_name(text: str) -> str:
    """A valid account name, for --owner."""
    from game.core import protocol as P

    if not P.is_valid_username(text):
        raise argparse.ArgumentTypeError(f"not a valid account name: {text!r}")
    return text


def _worker_count(text: str) -> int:
    """A number of host processes, for --workers."""
    from server.config import MAX_WORKERS

    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"give 1 to {MAX_WORKERS} processes, not {text!r}")
    return count


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from server.config import ASYNC_MODES, HostConfig, default_db_path

    defaults = HostConfig.__dataclass_fields__
    parser = argparse.ArgumentParser(
        description="Host a Pixel Commons world.",
        epilog="Keeping order from the command line: python host.py admin --help "
               "(list, kick, mute, ban, announce, promote, delete, reset-password, audit, "
               "invites; works while the host runs or is stopped).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on; 0.0.0.0 lets other machines on your network join")
    parser.add_argument("--port", type=int, default=5000, help="TCP port to listen on")
    parser.add_argument("--db", default=str(default_db_path()), metavar="PATH|URL",
                        help="SQLite database file (created with its schema on first run); "
                             "the session-signing key is kept beside it as PATH.key. Or a "
                             "PostgreSQL database, postgresql://USER:PASSWORD@HOST:PORT/DBNAME, "
                             "that several hosts may share (tables created on first run; the "
                             "key is DBNAME.key in the user data folder)")
    parser.add_argument("--map", action="append", default=None, metavar="PATH",
                        help="a Tiled map (.tmx, .tmj or .json) of the world, or a world folder "
                             "(every map in it); repeat it for a world of several maps linked "
                             "by exits. New players start on the first map given, or in a "
                             "folder the map named world, start or main, else the first "
                             "alphabetically (default: the game's own map "
                             f"{defaults['map_path'].default})"
                             "%(default).0s")  # (the default said in words, not as None)
    parser.add_argument("--start-map", default=None, metavar="NAME",
                        help="the map (file name without extension) new players start on, "
                             "in a world of several maps (default: see --map)%(default).0s")
    parser.add_argument("--redis", default=None, metavar="URL",
                        help="the world's Redis (redis://HOST:PORT/N): serve one world together "
                             "with every other host process given the same URL, database "
                             "and --secret-file (see README, Big worlds)")
    parser.add_argument("--tick-rate", type=float, default=20.0, metavar="HZ",
                        help="how many position snapshots per second the host sends "
                             "(half that while it is overloaded; see docs/protocol.md, pace)")
    parser.add_argument("--async-mode", choices=ASYNC_MODES, default="eventlet",
                        help="concurrency model for the server")
    parser.add_argument("--token-ttl", type=int, default=defaults["token_ttl_s"].default,
                        metavar="SECONDS", help="how long a login session stays valid")
    parser.add_argument("--save-interval", type=float, default=defaults["save_interval_s"].default,
                        metavar="SECONDS", help="how often moved players' positions are written")
    parser.add_argument("--ping-interval", type=float, default=defaults["ping_interval_s"].default,
                        metavar="SECONDS", help="how often the host pings each client")
    parser.add_argument("--ping-timeout", type=float, default=defaults["ping_timeout_s"].default,
                        metavar="SECONDS",
                        help="a client silent for ping-interval + ping-timeout is dropped")
    parser.add_argument("--allowed-origin", action="append", default=[], metavar="ORIGIN",
                        help="a browser Origin allowed to connect besides the host's own "
                             "(repeatable); others are refused")
    parser.add_argument("--login-failures", type=int,
                        default=defaults["login_failures_per_minute"].default, metavar="N",
                        help="failed logins allowed per account and per address each minute")
    parser.add_argument("--connect-timeout", type=float,
                        default=defaults["connect_timeout_s"].default, metavar="SECONDS",
                        help="a connection that has not presented a valid session token "
                             "by then (or whose session the host ended) is closed")
    parser.add_argument("--join-timeout", type=float, default=defaults["join_timeout_s"].default,
                        metavar="SECONDS",
                        help="a logged-in connection that has not joined the world by then "
                             "is ended")
    parser.add_argument("--max-outbox", type=int, default=defaults["outbox_max_packets"].default,
                        metavar="PACKETS",
                        help="a client that stops reading is dropped once this many packets "
                             "wait for it")
    parser.add_argument("--registrations", type=int,
                        default=defaults["registrations_per_minute"].default, metavar="N",
                        help="new accounts allowed per address each minute")
    parser.add_argument("--public-name", action="append", default=[], metavar="NAME",
                        type=_host_name,
                        help="a host name this host answers to besides loopback ones, such as "
                             "the name a reverse proxy forwards (repeatable); a host on "
                             "loopback refuses any other Host header")
    parser.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDRESS",
                        type=_network,
                        help="address or network (CIDR) of a reverse proxy whose "
                             "X-Forwarded-For is believed for per-address limits (repeatable)")
    parser.add_argument("--public-stats", action="store_true",
                        help="let anyone read /api/stats (otherwise only with --stats-token)")
    parser.add_argument("--stats-token", default="", metavar="TOKEN",
                        help="/api/stats answers requests with 'Authorization: Bearer TOKEN'")
    parser.add_argument("--owner", default=None, metavar="NAME", type=_account_name,
                        help="the account that owns the world: it appoints moderators and may "
                             "use every moderation action (default: the first account "
                             "registered on the world)%(default).0s")
    registration = parser.add_mutually_exclusive_group()
    registration.add_argument("--invite-only", action="store_true",
                              help="only names on the invite list may register (python host.py "
                                   "admin invite NAME); others get 403 not_invited")
    registration.add_argument("--no-registration", action="store_true",
                              help="nobody may register (existing accounts still log in); "
                                   "register gets 403 registration_closed")
    # For tests: how long a deleted account's name stays retired (30 days).
    parser.add_argument("--retired-name-seconds", type=float,
                        default=defaults["retired_name_s"].default, help=argparse.SUPPRESS)
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="logging detail; DEBUG also shows the traceback of a failed start")
    parser.add_argument("--secret-file", default=None, metavar="PATH",
                        help="the session-signing key's file (created, readable by you only, "
                             "when missing): give every host process of one world the same "
                             "file, so a login on one is accepted by all (default: PATH.key "
                             "beside --db; --new-key replaces it: restart every process that "
                             "uses it)%(default).0s")
    parser.add_argument("--workers", type=_worker_count, default=1, metavar="N",
                        help="run N host processes on this one port (the system spreads new "
                             "connections among them; players need the WebSocket transport). "
                             "A worker that dies is started again; Ctrl-C or SIGTERM stops "
                             "them all, each saving its players. Above 1 it needs --redis")
    # Set by --workers on the processes it starts: which worker this is, and
    # (on all but worker 1's first start) that --new-key was done already.
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-new-key", dest="new_key", action="store_false", default=False,
                        help=argparse.SUPPRESS)
    parser.add_argument("--new-key", action="store_true",
                        help="make a new session-signing key (PATH.key, or --secret-file) even "
                             "though the world has one or had one; everyone has to log in again")
    parser.add_argument("--check-map", action="append", default=[], metavar="PATH",
                        help="check a Tiled map (or every map in a folder) the way the host "
                             "would load it, print what it found (size, layers, collision, "
                             "spawn, exits, files served) and exit without starting a host: "
                             "status 0 when the host would accept it (repeatable)")
    parser.add_argument("--stop-when-stdin-closes", action="store_true",
                        help="stop (saving everyone) when standard input ends; the game starts "
                             "its own host this way so the host ends with the game")
    return parser.parse_args(argv)


def build_host(argv: list[str] | None = None):
    """Parse the flags, prepare the async mode and logging, check the files
    the host needs (``server.startup``), and create the host."""
    return _build(parse_args(argv))


def _build(args: argparse.Namespace):
    if args.async_mode == "eventlet":
        import warnings

        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        import eventlet

        eventlet.monkey_patch()
    from server import workers

    logging.basicConfig(level=args.log_level, format=workers.log_format(args.worker))
    from server import startup
    from server.app import create_host
    from server.config import HostConfig, world_map_paths

    map_paths = world_map_paths(args.map or [HostConfig.map_path], args.start_map)
    config = HostConfig(host=args.host, port=args.port, db_path=args.db, map_paths=map_paths,
                        tick_rate=args.tick_rate, async_mode=args.async_mode,
                        token_ttl_s=args.token_ttl, save_interval_s=args.save_interval,
                        ping_interval_s=args.ping_interval, ping_timeout_s=args.ping_timeout,
                        allowed_origins=tuple(args.allowed_origin),
                        login_failures_per_minute=args.login_failures,
                        connect_timeout_s=args.connect_timeout, join_timeout_s=args.join_timeout,
                        outbox_max_packets=args.max_outbox,
                        registrations_per_minute=args.registrations,
                        public_names=tuple(args.public_name),
                        trusted_proxies=tuple(args.trusted_proxy),
                        public_stats=args.public_stats, stats_token=args.stats_token,
                        owner=args.owner, registration=_registration(args),
                        retired_name_s=args.retired_name_seconds, redis_url=args.redis,
                        secret_file=args.secret_file, worker=args.worker)
    # Held for the host's whole life: a second host on this database refuses to start.
    db_lock = startup.prepare(config, new_key=args.new_key)
    host = create_host(config)
    host.db_lock = db_lock  # kept with the host, so it lives as long as the host
    return host


def _registration(args: argparse.Namespace) -> str:
    from game.core import protocol as P

    if args.no_registration:
        return P.REGISTRATION_CLOSED
    return P.REGISTRATION_INVITE_ONLY if args.invite_only else P.REGISTRATION_OPEN


def main(argv: list[str] | None = None) -> int:
    from server import startup

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["admin"]:
        from server import admin

        return admin.main(argv[1:])
    args = parse_args(argv)
    if args.check_map:
        from server import mapcheck

        return mapcheck.check_paths(args.check_map)
    if args.workers > 1 and args.worker is None:
        from server import workers

        return workers.main(args, argv)

    def serve(host) -> None:
        if args.stop_when_stdin_closes:
            startup.stop_when_stdin_closes(host.ctx.runtime)
        host.serve()

    return startup.run_or_explain(lambda: _build(args), serve, host=args.host, port=args.port,
                                  db_path=args.db, debug=args.log_level == "DEBUG",
                                  who="host.py" if args.worker is None
                                  else f"host.py worker {args.worker}")


if __name__ == "__main__":
    status = main()
    # Everyone is saved and the database closed: exit now, without waiting on
    # threads still tied to client connections at interpreter shutdown.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
