"""The least a Python host spends on its players' packets: no game, no
Engine.IO, no event loop of a library, only the system calls and the
WebSocket framing every host must do.

A *floor* process stands in for the host: it accepts N TCP connections on
localhost, waits on all of them with one ``epoll``, takes each readable
socket's bytes with one ``recv``, cuts them into WebSocket frames, unmasks
each frame and decodes its text (what the host must do before it can read a
move), and every tick writes one prebuilt binary frame of the size of a
snapshot to every socket with one ``send`` each (what the host's fanout does).
A *players* process opens the N connections and sends each a masked text frame
the size of a ``move`` RATE times a second, spread evenly over the second
(players are not in step), and reads and drops what it receives.

The floor's CPU time (user and system, 100 % = one core) over the measured
seconds is the cost of the packets alone at that load: whatever the host does
on top (Engine.IO and Socket.IO, checking moves, building snapshots) comes on
top of it.  Run on its own:

    python -m bench.io_floor --players 1000 --rate 20
"""
from __future__ import annotations

import argparse
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time

from bench.load.report import percentile

MOVE_TEXT = '42["move",{"x":1234.5,"y":567.25,"t":1733123456789,"seq":123456}]'
SNAPSHOT_BYTES = 600  # about a spread-1000 snapshot with its Socket.IO framing
WARMUP_S = 2.0


def cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def masked_frame(text: str) -> bytes:
    payload = text.encode()
    mask = b"\x11\x22\x33\x44"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    if len(payload) < 126:
        return bytes([0x81, 0x80 | len(payload)]) + mask + masked
    return bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big") + mask + masked


def binary_frame(size: int) -> bytes:
    payload = bytes(i % 251 for i in range(size - 4))
    assert 126 <= len(payload) < 65536
    return bytes([0x82, 126]) + len(payload).to_bytes(2, "big") + payload


def take_frames(buf: bytes) -> tuple[list[str], bytes]:
    """The whole masked text frames at the start of ``buf``, unmasked and
    decoded, and what is left."""
    texts = []
    pos, end = 0, len(buf)
    while end - pos >= 2:
        length = buf[pos + 1] & 0x7F
        head = 2
        if length == 126:
            if end - pos < 4:
                break
            length = int.from_bytes(buf[pos + 2:pos + 4], "big")
            head = 4
        start = pos + head + 4
        if end < start + length:
            break
        mask = buf[start - 4:start]
        key = int.from_bytes((mask * (length // 4 + 1))[:length], "big")
        data = (int.from_bytes(buf[start:start + length], "big") ^ key).to_bytes(length, "big")
        texts.append(data.decode())
        pos = start + length
    return texts, buf[pos:]


def floor(port_file: str, players: int, rate: float, seconds: float, size: int) -> dict:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(players)
    with open(port_file, "w") as f:
        f.write(str(listener.getsockname()[1]))
    socks: dict[int, socket.socket] = {}
    while len(socks) < players:
        s, _ = listener.accept()
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks[s.fileno()] = s
    poller = select.epoll()
    for fd in socks:
        poller.register(fd, select.EPOLLIN)
    frame = binary_frame(size)
    left = {fd: b"" for fd in socks}
    period = 1.0 / rate
    start = time.monotonic()
    measure_at, end = start + WARMUP_S, start + WARMUP_S + seconds
    next_tick = start
    counted = False
    frames = recvs = sends = short = ticks = 0
    cpu0 = 0.0
    while True:
        now = time.monotonic()
        if not counted and now >= measure_at:
            counted, cpu0 = True, cpu_s()
            frames = recvs = sends = short = ticks = 0
        if now >= end:
            break
        if now >= next_tick:
            for s in socks.values():
                try:
                    sent = s.send(frame)
                except BlockingIOError:
                    sent = 0
                sends += 1
                short += sent < len(frame)
            ticks += 1
            next_tick += period
            continue
        for fd, _ in poller.poll(next_tick - now):
            data = socks[fd].recv(65536)
            recvs += 1
            texts, left[fd] = take_frames(left[fd] + data)
            frames += len(texts)
    used = cpu_s() - cpu0
    return {"players": players, "rate": rate, "seconds": seconds, "snapshot_bytes": size,
            "ticks_per_s": round(ticks / seconds, 1), "sends_per_s": round(sends / seconds),
            "short_sends": short, "recvs_per_s": round(recvs / seconds),
            "moves_per_s": round(frames / seconds), "cpu_pct": round(100 * used / seconds, 1),
            "us_per_packet": round(1e6 * used / max(1, sends + frames), 1)}


def players_side(port: int, players: int, rate: float, seconds: float) -> dict:
    socks = []
    for _ in range(players):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(s)
    poller = select.epoll()
    by_fd = {s.fileno(): s for s in socks}
    for fd in by_fd:
        poller.register(fd, select.EPOLLIN)
    move = masked_frame(MOVE_TEXT)
    period = 1.0 / rate
    start = time.monotonic()
    end = start + WARMUP_S + seconds + 0.5
    due = 0  # moves sent so far, in the order of their times
    lags: list[float] = []
    cpu0 = cpu_s()
    closed = False
    while not closed:
        now = time.monotonic()
        if now >= end:
            break
        while True:  # move k is player k % n's, at start + k * period / n
            at = start + due * period / players
            if at > now:
                break
            try:
                socks[due % players].send(move)
            except BlockingIOError:
                pass
            except OSError:  # the floor is done and gone
                closed = True
                break
            lags.append(now - at)
            due += 1
        for fd, _ in poller.poll(0.001):
            try:
                by_fd[fd].recv(262144)
            except BlockingIOError:
                pass
            except OSError:
                closed = True
    end = min(end, time.monotonic())
    lags.sort()
    return {"moves_sent_per_s": round(due / (end - start)),
            "send_lag_p99_ms": None if not lags else round(1000 * percentile(lags, 0.99), 1),
            "cpu_pct": round(100 * (cpu_s() - cpu0) / (end - start), 1)}


def run(players: int, rate: float, seconds: float, size: int = SNAPSHOT_BYTES) -> dict:
    """One floor process and one players process; the floor's report with
    the players' own beside it."""
    with tempfile.TemporaryDirectory() as tmp:
        port_file = os.path.join(tmp, "port")
        base = [sys.executable, "-m", "bench.io_floor", "--players", str(players), "--rate",
                str(rate), "--seconds", str(seconds)]
        host = subprocess.Popen(base + ["--role", "floor", "--port-file", port_file,
                                        "--size", str(size)], stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while not (os.path.exists(port_file) and open(port_file).read()):
            if time.monotonic() > deadline or host.poll() is not None:
                host.kill()
                raise RuntimeError("io_floor: the floor process did not start")
            time.sleep(0.05)
        port = open(port_file).read()
        load = subprocess.Popen(base + ["--role", "players", "--port", port],
                                stdout=subprocess.PIPE, text=True)
        out, _ = host.communicate(timeout=seconds + 60)
        out_players, _ = load.communicate(timeout=30)
    report = json.loads(out)
    report["players_side"] = json.loads(out_players)
    report["load_average"] = [round(v, 2) for v in os.getloadavg()]
    return report


def section(args: argparse.Namespace) -> dict:
    """The ``io_floor`` section of ``python -m bench.run``: the floor at the
    goal's spread and crowd loads at 20 Hz, and at 10 Hz for comparison."""
    return {"runs": [run(n, rate, args.seconds) for n, rate in
                     ((500, 20.0), (1000, 10.0), (1000, 20.0))]}


def markdown(result: dict) -> list[str]:
    from bench.speed import fmt
    lines = ["## The floor: what the packets alone cost", "",
             "`python -m bench.io_floor`: a Python process that does only what no host can "
             "leave out (one `epoll` for all sockets, one `recv` per readable socket, cutting, "
             "unmasking and decoding each move's WebSocket frame, one `send` of a prebuilt "
             f"{SNAPSHOT_BYTES}-byte frame per player per tick), against a Python process of "
             "players sending move-sized frames, spread evenly over each second. No game, no "
             "Engine.IO or Socket.IO, no green threads: whatever a host does on top of this "
             "costs more. Compare the host's own CPU at the same loads in the tables above.", "",
             "| players | Hz | sends/s | moves read/s | recvs/s | floor CPU | µs a packet "
             "| players' CPU | players' send lag p99 ms |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    if "error" in result:
        return lines + [f"| failed: {str(result['error'])[:80]} ||||||||", ""]
    for r in result.get("runs") or []:
        side = r.get("players_side") or {}
        lines.append(f"| {fmt(r.get('players'))} | {fmt(r.get('rate'))} | "
                     f"{fmt(r.get('sends_per_s'))} | {fmt(r.get('moves_per_s'))} | "
                     f"{fmt(r.get('recvs_per_s'))} | {fmt(r.get('cpu_pct'), ' %')} | "
                     f"{fmt(r.get('us_per_packet'))} | {fmt(side.get('cpu_pct'), ' %')} | "
                     f"{fmt(side.get('send_lag_p99_ms'))} |")
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.io_floor",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="moves and ticks a second")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--size", type=int, default=SNAPSHOT_BYTES,
                        help="bytes of one snapshot frame")
    parser.add_argument("--role", choices=["floor", "players"], help=argparse.SUPPRESS)
    parser.add_argument("--port-file", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role == "floor":
        print(json.dumps(floor(args.port_file, args.players, args.rate, args.seconds, args.size)))
    elif args.role == "players":
        print(json.dumps(players_side(args.port, args.players, args.rate, args.seconds)))
    else:
        print(json.dumps(run(args.players, args.rate, args.seconds, args.size)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
