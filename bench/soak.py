"""Soak and fault run: what a host loses while players come and go, and when it breaks.

    python -m bench.soak                          # 10 minutes of churn, then the faults
    python -m bench.soak --minutes 2 --players 20
    python -m bench.soak --minutes 0.1 --no-faults

Starts a real host (``host.py`` through ``game.client.host_process.HostProcess``) on a
free 127.0.0.1 port with a fresh database.  When this runs as root, the
database lives on a small tmpfs of its own (``--disk-mb``) so that the disk
can be filled; otherwise the disk-full step is skipped with a line saying so.

**Churn.**  ``--players`` scripted players (``game.client.net.HostClient``, the game's
own client code) each repeat: log in, join, walk between open spots at
walking speed for 10 to 40 s (``game.bots.Walker``, ``--move-hz`` positions a
second), send a direct message to another player every 2 to 5 s, leave, and
come back 0.5 to 2 s later.

**Faults** (unless ``--no-faults``), each while the players keep going:
``kill -9`` of the host and a restart on the same port and database;
``SIGSTOP`` for ``--stall`` seconds, then ``SIGCONT``; the database's disk
filled to the last byte for ``--stall`` seconds, then freed.

**What was lost**, per phase:

- *acknowledged DMs lost*: messages the host answered ``{ok: true}`` to that
  are not in its database after it stopped;
- *no answer*: ``dm_send`` requests that got no answer within ``ANSWER_S``
  (or before their connection closed);
- *positions lost*: when a player comes back, how many seconds of its walk
  before it left the host had not saved (from the position in its welcome;
  a clean leave should lose none);
- *host growth* over the churn: resident memory, open files, threads and the
  size of the WAL file, from the start of the churn to its end;
- whether the host still stopped on SIGTERM at the end.

Traffic goes to 127.0.0.1 only and is bounded: ``--players`` connections,
``--move-hz`` moves and one DM every 2 s at most per player, for ``--minutes``
plus about a minute of faults; the script stops by itself.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from game.core import protocol as P
from game.core import rules
from game.bots import Walker, targets_for
from game.client.host_process import HostProcess
from game.client.net import ANSWER, DISCONNECTED, HostClient, HostError, probe

PASSWORD = "soak-walks-around"
ANSWER_S = 30.0          # a request with no answer this long is counted as lost
RECOVER_S = 30.0         # how long a fault's aftermath is watched
SESSION_S = (10.0, 40.0)  # how long a player stays before leaving
PAUSE_S = (0.5, 2.0)      # how long it is away
DM_EVERY_S = (2.0, 5.0)
MATCH_PX = 0.6            # a welcome position matches a sent one this close
SAMPLE_S = 1.0            # how often the host's memory, files and WAL are sampled


# -- what was lost -----------------------------------------------------------------
@dataclass
class Phase:
    name: str
    dms_sent: int = 0
    acked: set[int] = field(default_factory=set)   # message ids the host answered ok to
    acked_lost: int | None = None                   # filled in after the host stopped
    no_answer: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    answer_max_s: float = 0.0
    joins: int = 0
    visits_failed: int = 0  # a visit that ended in an exception (a fault broke it)
    rejoins_checked: int = 0
    rejoins_unmatched: int = 0  # the welcome position was none the player had sent
    positions_lost_s: list[float] = field(default_factory=list)
    drops: int = 0              # connections the host closed under a player
    errors: dict[str, int] = field(default_factory=dict)
    corrections: int = 0
    note: str = ""

    def summary(self) -> dict:
        lost = sorted(self.positions_lost_s)
        return {
            "phase": self.name, "dms_sent": self.dms_sent, "dms_acked": len(self.acked),
            "acked_lost": self.acked_lost, "no_answer": self.no_answer,
            "refused": self.refused, "answer_max_ms": round(self.answer_max_s * 1000.0),
            "joins": self.joins, "visits_failed": self.visits_failed, "drops": self.drops,
            "positions_lost_max_s": round(lost[-1], 2) if lost else 0.0,
            "positions_lost_mean_s": round(sum(lost) / len(lost), 2) if lost else 0.0,
            "rejoins_checked": self.rejoins_checked,
            "rejoins_unmatched": self.rejoins_unmatched,
            "errors": self.errors, "corrections": self.corrections, "note": self.note,
        }


class Ledger:
    """Every player thread reports here; the current phase takes the counts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.phases: list[Phase] = []
        self.current: Phase = self.begin("churn")

    def begin(self, name: str) -> Phase:
        with self.lock:
            self.current = Phase(name)
            self.phases.append(self.current)
            return self.current

    def count(self, phase: Phase | None, key: str, code: str | None = None,
              value: float = 1) -> None:
        with self.lock:
            phase = phase or self.current
            if code is None:
                setattr(phase, key, getattr(phase, key) + value)
            else:
                counts = getattr(phase, key)
                counts[code] = counts.get(code, 0) + 1


# -- one player ----------------------------------------------------------------------
@dataclass(eq=False)
class Walk:
    """What game.bots.Walker moves: a position and a target."""
    x: float
    y: float
    target: tuple[float, float]


class Player(threading.Thread):
    def __init__(self, index: int, url: str, names: list[str], walker: Walker,
                 ledger: Ledger, stop: threading.Event, move_hz: float, seed: int):
        super().__init__(name=f"soak-{index}", daemon=True)
        self.name_ = names[index]
        self.others = [n for n in names if n != self.name_]
        self.url, self.walker, self.ledger, self.stop = url, walker, ledger, stop
        self.period = 1.0 / move_hz
        self.rng = random.Random(seed)
        # (time, x, y) of recent positions sent, and the phase the last
        # session ended in (a loss at the next welcome belongs to it).
        self.sent: deque[tuple[float, float, float]] = deque(maxlen=int(120 * move_hz))
        self.left_in: Phase | None = None
        self.online = False

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.session()
            except Exception as exc:  # a fault broke this visit; come back later
                self.ledger.count(None, "visits_failed")
                self.left_in = self.left_in or self.ledger.current
                log(f"{self.name_}: {type(exc).__name__}: {exc}", quiet=True)
            self.online = False
            self.stop.wait(self.rng.uniform(*PAUSE_S))

    def session(self) -> None:
        client = HostClient(self.url, reconnect=False)
        pending: dict[int, tuple[float, Phase]] = {}  # tag -> (sent at, phase)
        tags = iter(range(1, 1 << 62))
        try:
            client.login_or_register(self.name_, PASSWORD)
            client.connect(timeout=10.0)
            welcome = client.wait_for(P.WELCOME, 10.0).data
            self.ledger.count(None, "joins")
            self.online = True
            me = Walk(round(welcome["you"]["x"], 1), round(welcome["you"]["y"], 1), (0.0, 0.0))
            self.check_rejoin(me.x, me.y)
            me.target = self.walker.pick(me.x, me.y)
            until = time.monotonic() + self.rng.uniform(*SESSION_S)
            next_dm = time.monotonic() + self.rng.uniform(*DM_EVERY_S)
            last = time.monotonic()
            dropped = False
            while not self.stop.is_set() and time.monotonic() < until and not dropped:
                now = time.monotonic()
                before = (me.x, me.y)
                self.walker.advance(me, now - last)
                last = now
                if (me.x, me.y) != before:
                    client.send_move(me.x, me.y)
                    self.sent.append((now, me.x, me.y))
                if now >= next_dm:
                    next_dm = now + self.rng.uniform(*DM_EVERY_S)
                    tag = next(tags)
                    pending[tag] = (now, self.ledger.current)
                    self.ledger.count(None, "dms_sent")
                    client.request(P.DM_SEND, {"to": self.rng.choice(self.others),
                                               "text": f"soak {self.name_} {tag}"}, tag=tag)
                dropped = self.handle(client, me, pending)
                self.expire(pending)
                time.sleep(self.period)
            # Leaving: wait for the answers still owed (as a player would
            # wait for the tick beside a message), then close.
            deadline = time.monotonic() + ANSWER_S
            while pending and not dropped and time.monotonic() < deadline:
                dropped = self.handle(client, me, pending)
                self.expire(pending)
                time.sleep(0.05)
        finally:
            self.left_in = self.ledger.current
            for _, phase in pending.values():
                self.ledger.count(phase, "no_answer")
            client.close()

    def handle(self, client: HostClient, me: Walk, pending: dict) -> bool:
        """Handle what arrived; True when the host closed the connection."""
        for event in client.drain():
            if event.kind == ANSWER:
                entry = pending.pop(event.data["tag"], None)
                if entry is None:
                    continue  # answered after it was given up: counted as lost already
                sent_at, phase = entry
                reply = event.data["reply"] or {}
                with self.ledger.lock:
                    phase.answer_max_s = max(phase.answer_max_s, event.at - sent_at)
                if reply.get("ok"):
                    with self.ledger.lock:
                        phase.acked.add(int(reply["message"]["id"]))
                else:
                    self.ledger.count(phase, "refused", str(reply.get("error")))
            elif event.kind == P.CORRECTION:
                self.ledger.count(None, "corrections")
                me.x, me.y = round(event.data["x"], 1), round(event.data["y"], 1)
                self.sent.append((event.at, me.x, me.y))
            elif event.kind == P.ERROR:
                self.ledger.count(None, "errors", str((event.data or {}).get("code")))
            elif event.kind in (DISCONNECTED, P.SESSION_ENDED):
                self.ledger.count(None, "drops")
                return True
        return False

    def expire(self, pending: dict) -> None:
        now = time.monotonic()
        for tag, (sent_at, phase) in list(pending.items()):
            if now - sent_at > ANSWER_S:
                del pending[tag]
                self.ledger.count(phase, "no_answer")

    def check_rejoin(self, x: float, y: float) -> None:
        """How much of the walk before the last leave the host forgot."""
        if not self.sent or self.left_in is None:
            return
        phase = self.left_in
        newest = self.sent[-1][0]
        for t, sx, sy in reversed(self.sent):
            if abs(sx - x) <= MATCH_PX and abs(sy - y) <= MATCH_PX:
                with self.ledger.lock:
                    phase.rejoins_checked += 1
                    phase.positions_lost_s.append(newest - t)
                return
        self.ledger.count(phase, "rejoins_unmatched")


# -- the host and its disk ------------------------------------------------------------------
class SmallDisk:
    """A tmpfs of ``mb`` megabytes for the database, when root can mount one."""

    def __init__(self, folder: Path, mb: int):
        self.path = folder / "disk"
        self.mb = mb
        self.mounted = False
        self.why_not = ""

    def __enter__(self) -> "SmallDisk":
        self.path.mkdir()
        if os.geteuid() != 0:
            self.why_not = "not running as root, so no small filesystem can be mounted"
            return self
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.mb}m", "tmpfs",
                                 str(self.path)], capture_output=True, text=True)
        self.mounted = result.returncode == 0
        if not self.mounted:
            self.why_not = f"mounting a tmpfs failed: {result.stderr.strip()}"
        return self

    def fill(self) -> int:
        """Write a file until the disk is full; returns the bytes written."""
        written = 0
        with open(self.path / "filler", "wb", buffering=0) as f:
            for size in (1 << 16, 512, 1):  # big blocks, then top up the last bytes
                while True:
                    try:
                        written += f.write(b"\0" * size)
                    except OSError:
                        break
        return written

    def free(self) -> None:
        (self.path / "filler").unlink(missing_ok=True)

    def __exit__(self, *exc: Any) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


class Sampler(threading.Thread):
    """The host's memory, open files, threads and WAL size, once a second."""

    def __init__(self, host: HostProcess):
        super().__init__(name="soak-sampler", daemon=True)
        self.host = host
        self.samples: list[dict] = []
        self.stop = threading.Event()

    def sample(self) -> dict | None:
        try:
            proc = psutil.Process(self.host.proc.pid)
            wal = Path(str(self.host.db_path) + "-wal")
            return {"t": time.monotonic(), "pid": proc.pid,
                    "rss_mb": proc.memory_info().rss / 1e6, "fds": proc.num_fds(),
                    "threads": proc.num_threads(),
                    "wal_kb": wal.stat().st_size / 1e3 if wal.exists() else 0.0,
                    "db_kb": self.host.db_path.stat().st_size / 1e3}
        except (psutil.Error, OSError, AttributeError):
            return None

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_S):
            s = self.sample()
            if s:
                self.samples.append(s)


def growth(samples: list[dict], since: float, until: float) -> dict:
    """First and last sample of one host process within [since, until]."""
    window = [s for s in samples if since <= s["t"] <= until]
    if len(window) < 2:
        return {}
    pid = window[0]["pid"]
    window = [s for s in window if s["pid"] == pid]
    first, last = window[0], window[-1]
    out = {"seconds": round(last["t"] - first["t"])}
    for key in ("rss_mb", "fds", "threads", "wal_kb", "db_kb"):
        out[key] = [round(first[key], 1), round(last[key], 1),
                    round(max(s[key] for s in window), 1)]
    return out


# -- the run ------------------------------------------------------------------------------
QUIET = True


def log(text: str, quiet: bool = False) -> None:
    if quiet and QUIET:
        return
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def wait_online(players: list[Player], timeout: float) -> float | None:
    """Seconds until every player is back in the world, or None."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if all(p.online for p in players):
            return time.monotonic() - start
        time.sleep(0.1)
    return None


def fault_pass(host: HostProcess, disk: SmallDisk, players: list[Player], ledger: Ledger,
               args: argparse.Namespace) -> None:
    warm = min(5.0, args.stall)
    # kill -9, then a restart on the same port and database
    phase = ledger.begin("kill -9")
    time.sleep(warm)
    log("kill -9 of the host")
    host.kill()
    time.sleep(1.0)
    host.start(timeout=30)
    back = wait_online(players, RECOVER_S)
    phase.note = (f"restarted; all players back in {back:.1f} s" if back is not None
                  else f"not all players back within {RECOVER_S:.0f} s")
    log(phase.note)

    # SIGSTOP, then SIGCONT
    phase = ledger.begin(f"SIGSTOP {args.stall:g} s")
    time.sleep(warm)
    log(f"SIGSTOP of the host for {args.stall:g} s")
    os.kill(host.proc.pid, signal.SIGSTOP)
    try:
        time.sleep(args.stall)
    finally:
        os.kill(host.proc.pid, signal.SIGCONT)
    time.sleep(min(RECOVER_S, ANSWER_S) / 2)
    phase.note = ("after SIGCONT the host answers /api/health" if probe(host.url, 2.0)
                  else "after SIGCONT the host does not answer /api/health")
    log(phase.note)

    # the disk fills, then frees
    phase = ledger.begin("disk full")
    if not disk.mounted:
        phase.note = f"skipped: {disk.why_not}"
        log(f"disk full: {phase.note}")
        return
    time.sleep(warm)
    filled = disk.fill()
    log(f"disk full: wrote {filled / 1e6:.1f} MB of filler; holding {args.stall:g} s")
    time.sleep(args.stall)
    health_full = host_health(host)
    disk.free()
    log("disk freed")
    back = wait_online(players, RECOVER_S)
    time.sleep(5.0)
    health = host_health(host)
    phase.note = (f"health while full: {health_full}; after freeing: {health}; "
                  + (f"all players back in {back:.1f} s" if back is not None
                     else f"not all players in the world {RECOVER_S:.0f} s after freeing"))
    log(phase.note)


def host_health(host: HostProcess) -> str:
    import requests

    try:
        body = requests.get(host.url + P.HTTP_HEALTH, timeout=3).json()
        return "ok" if body.get("ok") else json.dumps(body)
    except (requests.RequestException, ValueError) as exc:
        return f"no answer ({type(exc).__name__})"


def stored_ids(db_path: Path) -> set[int]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM messages")}
    finally:
        conn.close()


def soak(args: argparse.Namespace, folder: Path) -> dict:
    world = rules.load_world()
    names = [f"{args.prefix}{i:03d}" for i in range(args.players)]
    with SmallDisk(folder, args.disk_mb) as disk:
        db = (disk.path if disk.mounted else folder) / "world.db"
        host = HostProcess(db, async_mode=args.async_mode, log_path=folder / "host.log",
                           log_level="WARNING")
        stop = threading.Event()
        players: list[Player] = []
        sampler = Sampler(host)
        ledger = Ledger()
        result: dict = {"players": args.players, "minutes": args.minutes,
                        "async_mode": args.async_mode, "faults": not args.no_faults}
        try:
            host.start()
            log(f"host on {host.url}, database {db}"
                + (f" (a {args.disk_mb} MB tmpfs)" if disk.mounted else ""))
            for name in names:  # every recipient exists before the first DM
                try:
                    HostClient(host.url, reconnect=False).login_or_register(name, PASSWORD)
                except HostError as exc:
                    raise SystemExit(f"cannot register {name}: {exc.message}")
            seeds = random.Random(args.seed)
            for i in range(args.players):
                walker = Walker(world, targets_for(world, "spread"), random.Random(args.seed + i))
                players.append(Player(i, host.url, names, walker, ledger, stop, args.move_hz,
                                      seeds.randrange(1 << 30)))
            sampler.start()
            churn_start = time.monotonic()
            for p in players:
                p.start()
            log(f"{args.players} players churning for {args.minutes:g} min")
            time.sleep(args.minutes * 60.0)
            churn_end = time.monotonic()
            # From a quarter of the churn (at most a minute) in: start-up and
            # the first registrations are not growth.
            settled = churn_start + min(60.0, (churn_end - churn_start) / 4)
            result["host_growth"] = growth(sampler.samples, settled, churn_end)
            if not args.no_faults:
                fault_pass(host, disk, players, ledger, args)
            ledger.begin("after")  # requests of the last seconds
        finally:
            stop.set()
            deadline = time.monotonic() + ANSWER_S + 5  # the answers still owed
            for p in players:
                p.join(max(0.0, deadline - time.monotonic()))
            sampler.stop.set()
            if host.proc is not None and host.proc.poll() is None:
                os.kill(host.proc.pid, signal.SIGCONT)
            t0 = time.monotonic()
            try:
                code = host.stop(timeout=15)
                result["sigterm"] = f"stopped in {time.monotonic() - t0:.1f} s (status {code})"
            except RuntimeError:
                result["sigterm"] = "ignored: the host was killed after 15 s"
            finally:
                host.kill()
        stored = stored_ids(db)
        for phase in ledger.phases:
            phase.acked_lost = len(phase.acked - stored)
        result["phases"] = [p.summary() for p in ledger.phases
                            if p.name != "after" or p.dms_sent]
        result["host_log_tail"] = host.log()[-600:] if args.show_log else None
    return result


def table(result: dict) -> list[str]:
    """The result as Markdown: one row per phase, then notes."""
    out: list[str] = []
    heads = ("phase", "DMs sent", "acked", "acked lost", "no answer", "refused",
             "slowest answer ms", "joins", "drops", "failed visits",
             "positions lost s (max/mean, n)",
             "errors")
    rows = []
    for p in result["phases"]:
        rows.append((p["phase"], p["dms_sent"], p["dms_acked"], p["acked_lost"], p["no_answer"],
                     ", ".join(f"{k} {v}" for k, v in p["refused"].items()) or "0",
                     p["answer_max_ms"], p["joins"], p["drops"], p["visits_failed"],
                     f"{p['positions_lost_max_s']} / {p['positions_lost_mean_s']}, "
                     f"{p['rejoins_checked']}"
                     + (f" (+{p['rejoins_unmatched']} unmatched)"
                        if p["rejoins_unmatched"] else ""),
                     ", ".join(f"{k} {v}" for k, v in p["errors"].items()) or "0"))
    out.append("| " + " | ".join(heads) + " |")
    out.append("|" + "---|" * len(heads))
    for row in rows:
        out.append("| " + " | ".join(str(c) for c in row) + " |")
    out.append("")
    for p in result["phases"]:
        if p["note"]:
            out.append(f"- {p['phase']}: {p['note']}")
    g = result.get("host_growth") or {}
    if g:
        out.append(f"- host over {g['seconds']} s of churn (first, last, max): memory "
                   f"{g['rss_mb'][0]}, {g['rss_mb'][1]}, {g['rss_mb'][2]} MB; open files "
                   f"{g['fds'][0]}, {g['fds'][1]}, {g['fds'][2]}; threads {g['threads'][0]}, "
                   f"{g['threads'][1]}, {g['threads'][2]}; WAL {g['wal_kb'][0]}, {g['wal_kb'][1]}, "
                   f"{g['wal_kb'][2]} KB; database {g['db_kb'][0]}, {g['db_kb'][1]} KB")
    out.append(f"- SIGTERM at the end: {result['sigterm']}")
    return out


DOC_START = "<!-- soak: written by python -m bench.soak --doc; do not edit by hand -->"
DOC_END = "<!-- soak: end -->"


def write_doc(path: Path, result: dict, argv: list[str], started: str, minutes: float,
              label: str = "") -> None:
    """Put the result in ``path`` between DOC_START and DOC_END (appended the
    first time), leaving the rest of the file as it was."""
    load = os.getloadavg()
    shown = list(argv)  # the command, less where it wrote and the label it was given
    for flag in ("--doc", "--label"):
        if flag in shown:
            i = shown.index(flag)
            del shown[i:i + 2]
    section = [DOC_START, "", "## Soak and faults: what was lost", "",
               "A real host on 127.0.0.1 with a fresh database (on a tmpfs of its own, so "
               "that its disk can be filled) while scripted players churn: each logs in, "
               "joins, walks at walking speed sending 10 positions a second, sends a "
               "direct message every 2 to 5 s, leaves after 10 to 40 s and comes back 0.5 to "
               "2 s later. Then, unless `--no-faults`, with the players still at it: "
               "`kill -9` of the host and a restart on the same port and database; "
               "`SIGSTOP` for 10 s, then `SIGCONT`; the disk filled to the last byte for "
               "10 s, then freed. Each row counts what happened from the start of its phase "
               "to the start of the next.", "",
               "- **acked lost**: DMs the host answered `{ok: true}` that are not in its "
               "database after it stopped; **no answer**: `dm_send` requests with no "
               "answer within 30 s or before their connection closed; **refused**: "
               "answers `{ok: false}` by error code.",
               "- **positions lost**: when a player comes back, the seconds of its walk "
               "before it left that the host had not saved (from the position in its "
               "`welcome`; a clean leave loses none) over n rejoins.",
               "- **drops**: connections the host closed under a player; **failed visits**: "
               "visits that ended in an error (a log-in, connect or join that failed, or a "
               "send on a dead connection; a player tries again 0.5 to 2 s later); "
               "**errors**: `error` events by code.",
               "- **host growth**: the host process from a quarter of the churn (at most a "
               "minute) in to its end: first, last and largest sample.", "",
               f"Measured: `python -m bench.soak {shlex.join(shown)}` on {started}, "
               f"{minutes:.1f} minutes in all; {psutil.cpu_count()} cores shared with "
               f"other work (load average at the end {load[0]:.1f} / {load[1]:.1f} / "
               f"{load[2]:.1f})" + (f"; {label}" if label else "") + ".", "",
               *table(result), "", DOC_END]
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if DOC_START in text and DOC_END in text:
        head, rest = text.split(DOC_START, 1)
        text = head + "\n".join(section) + rest.split(DOC_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(section) + "\n"
    path.write_text(text, encoding="utf-8")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a host on 127.0.0.1 under churning players, then through faults "
                    "(kill -9,\nSIGSTOP, a full disk), and print what was lost.")
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="minutes of churn before the faults (default: %(default)s)")
    parser.add_argument("--players", type=int, default=20,
                        help="players churning at once (default: %(default)s)")
    parser.add_argument("--move-hz", type=float, default=10.0,
                        help="positions each walking player sends a second (default: %(default)s)")
    parser.add_argument("--no-faults", action="store_true", help="churn only")
    parser.add_argument("--stall", type=float, default=10.0, metavar="S",
                        help="seconds the host stays stopped (SIGSTOP) and the disk stays "
                             "full (default: %(default)s)")
    parser.add_argument("--disk-mb", type=int, default=16,
                        help="size of the tmpfs the database lives on (default: %(default)s)")
    parser.add_argument("--async-mode", choices=("eventlet", "threading"), default="eventlet",
                        help="the host's async mode (default: %(default)s)")
    parser.add_argument("--prefix", default="soak", help="account names (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON line instead of the table")
    parser.add_argument("--doc", type=Path, metavar="PATH",
                        help="also write the table into PATH (docs/benchmarks.md) between "
                             "its soak markers, replacing the last one")
    parser.add_argument("--label", default="", metavar="TEXT",
                        help="a note on what was measured, for --doc (e.g. the version)")
    parser.add_argument("--show-log", action="store_true",
                        help="include the end of the host's log in the JSON")
    parser.add_argument("--verbose", action="store_true",
                        help="log every visit a fault broke, with the error")
    args = parser.parse_args(argv)
    if not 0 < args.minutes <= 120 or not 1 <= args.players <= 200 \
            or not 0 < args.move_hz <= P.MOVES_PER_SECOND or not 0 < args.stall <= 60:
        parser.error("need 0 < --minutes <= 120, 1 <= --players <= 200, "
                     f"0 < --move-hz <= {P.MOVES_PER_SECOND}, 0 < --stall <= 60")
    return args


def main(argv: list[str] | None = None) -> int:
    global QUIET
    args = parse_args(argv)
    QUIET = not args.verbose
    # SIGTERM stops the run as Ctrl-C does: the host is stopped, the disk unmounted.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    started, t0 = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), time.time()
    try:
        with tempfile.TemporaryDirectory(prefix="soak-") as folder:
            result = soak(args, Path(folder))
    except KeyboardInterrupt:
        print("stopped (Ctrl-C): the host was stopped, no figures", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(result), flush=True)
    else:
        print(f"soak: {args.players} players, {args.minutes:g} min of churn on "
              f"{args.async_mode}" + ("" if args.no_faults else ", then the faults"))
        print("\n".join(table(result)))
    if args.doc:
        write_doc(args.doc, result, list(argv if argv is not None else sys.argv[1:]),
                  started, (time.time() - t0) / 60, args.label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
