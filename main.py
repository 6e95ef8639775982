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
    1 to 6               an emote over your avatar (when not typing): wave, heart,
                         laugh, question, exclamation, sleep
    Login screen: Tab / Shift+Tab move between the fields, Enter logs in.
"""
from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

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


README = Path(__file__).resolve().parent / "README.md"


def controls() -> list[tuple[str, str]]:
    """The README's "Controls" table, one (key, what it does) pair a row."""
    try:
        text = README.read_text(encoding="utf-8")
    except OSError:
        return []
    rows, in_section = [], False
    for line in text.splitlines():
        if line.startswith("#"):
            in_section = line.strip("# ").lower() == "controls"
            continue
        cells = [c.strip().replace("`", "") for c in line.strip().strip("|").split("|")]
        if in_section and line.startswith("|") and len(cells) == 2 \
                and not set(cells[0]) <= set("-: "):
            rows.append((cells[0], cells[1]))
    return rows[1:]  # the first row is the table's heading


def controls_help() -> str:
    rows = controls()
    if not rows:
        return "controls: see the Controls table in the README"
    width = min(max(len(key) for key, _ in rows), 28) + 2
    lines = ["controls:"]
    for key, what in rows:
        wrapped = textwrap.wrap(what, 78 - width - 2) or [""]
        if len(key) > width - 2:
            lines.append(f"  {key}")
            lines.extend(f"  {'':<{width}}{part}" for part in wrapped)
        else:
            lines.append(f"  {key:<{width}}{wrapped[0]}")
            lines.extend(f"  {'':<{width}}{part}" for part in wrapped[1:])
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Play Pixel Commons: walk around a shared world and chat with friends.",
        epilog=controls_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
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
