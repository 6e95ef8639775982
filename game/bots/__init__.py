"""Scripted players: fill a world with wandering players for a demo.

    python -m game.bots --server http://127.0.0.1:5000 --players 20 --spread

Every player registers (or logs in to) the account ``<prefix><number>``
through ``game.client.net.HostClient``, the same client code the game uses, joins the
world and walks between random open spots at walking speed, sliding along
walls with ``game.core.rules.step``.  It reports its position ``--rate`` times a
second.

When the host goes away (a restart, a crash, a lost network) the players
reconnect as the game does: every 0.5 s doubling to 5 s, joining again by
themselves, and logging in again when the host no longer accepts their
session.  The log says when they lose the host and when all are back.
Ctrl-C stops them within about a second (exit status 130).

By job:

- ``walker``: where a player walks (``Walker``, ``targets_for``);
- ``player``: one player, its account and its ``HostClient`` (``Bot``);
- ``swarm``: many players in one process, reconnects (``Swarm``);
- ``stop``: Ctrl-C handling shared by every wait;
- ``cli``: the command line.

Measuring a host (``--report``) and spreading the players over processes
(``--procs``) belong to the load tool in ``bench/load``, which builds on these
parts; ``python -m game.bots`` hands such runs to it.
"""
from .player import DEFAULT_PASSWORD_SUFFIX, Bot, load_net
from .swarm import LOGIN_THREADS, Swarm
from .walker import CROWD_HALF_H, CROWD_HALF_W, Walker, targets_for

__all__ = ["Bot", "CROWD_HALF_H", "CROWD_HALF_W", "DEFAULT_PASSWORD_SUFFIX", "LOGIN_THREADS",
           "Swarm", "Walker", "load_net", "targets_for"]
