"""Pixel Commons: a small shared 2D world to walk around in and chat with friends.

    python main.py                          # play on this computer
    python main.py --server http://192.168.1.20:5000   # join a friend's host

With no ``--server``, the game looks for a host at http://127.0.0.1:5000 and,
when none answers, starts one for you (its world is kept in your user data
directory and it stops when the game quits).

Controls
    WASD or arrow keys   walk
    Tab, or C            show / hide the chat panel (C only when not typing;
                         the "Chat" button does the same)
    click a name         in the chat panel: open that conversation
    click a player       in the world: open a conversation with them
    Enter                type a message in the open conversation; Enter again sends it
    Escape               stop typing (the keys walk again); again: hide the chat panel
    mouse wheel          scroll the players list or the conversation
                         (older messages load at the top)
    M                    show / hide the minimap
    Login screen: Tab / Shift+Tab move between the fields, Enter logs in.
"""
from __future__ import annotations

import argparse
import os
import sys

DEFAULT_SERVER = "http://127.0.0.1:5000"
DEFAULT_SIZE = "1280x800"
MIN_W, MIN_H = 880, 560  # game.client.app.MIN_SIZE: the smallest window the screens fit in


def window_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("use WIDTHxHEIGHT, for example 1280x800")
    if w < MIN_W or h < MIN_H:
        raise argparse.ArgumentTypeError(f"the window must be at least {MIN_W}x{MIN_H}")
    return w, h


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Play Pixel Commons. The controls are listed in the module docstring "
                    "of main.py and in the README.")
    parser.add_argument("--server", metavar="URL", default=None,
                        help="host to join, filled in on the login screen. Default: the "
                             "address you used last time; and when no host answers at "
                             f"{DEFAULT_SERVER}, the game starts one on this computer")
    parser.add_argument("--username", metavar="NAME", default=None,
                        help="username to fill in on the login screen (default: the last one used)")
    parser.add_argument("--size", type=window_size, default=window_size(DEFAULT_SIZE),
                        metavar="WxH", help=f"window size in pixels; the window can be resized "
                             f"(default: {DEFAULT_SIZE})")
    parser.add_argument("--fullscreen", action="store_true",
                        help="fill the screen instead of opening a window (default: off)")
    parser.add_argument("--no-embedded-host", action="store_true",
                        help="never start a host on this computer, even when none answers "
                             "(default: start one when needed and no --server is given)")
    parser.add_argument("--db", metavar="PATH", default=None,
                        help="world database for a host started by the game "
                             "(default: world.db in your user data directory)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    from game.client.game import run

    return run(server=args.server, username=args.username, size=args.size,
               fullscreen=args.fullscreen, embedded=not args.no_embedded_host and args.server is None,
               db_path=args.db)


if __name__ == "__main__":
    sys.exit(main())
