"""The speed sections of ``python -m bench.run``: bandwidth of a crowd, a join
storm, a login storm, an overload past the ceiling, a crowd that talks, the
cluster (one host process against two), and the floor (what the packets alone
cost a Python process).

Each section is its own module (``bench.bandwidth``, ``bench.join_storm``,
``bench.login_burst``, ``bench.overload``, ``bench.talk``, ``bench.scaleout``,
``bench.io_floor``, each runnable on
its own); this one runs those chosen with ``--sections`` one after another and
writes their figures as markdown, next to the goals they answer.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

SECTIONS = ("bandwidth", "joins", "logins", "overload", "talk", "cluster", "floor")
UPLINK_MBIT = 10.0


def run_sections(args: argparse.Namespace, ceiling: int | None) -> dict[str, Any]:
    """Run every section in ``args.sections``; ``ceiling`` is the largest crowd
    the crowd runs held (the overload section loads the host past it)."""
    runners: dict[str, Callable[[], Any]] = {
        "bandwidth": lambda: _bandwidth(args),
        "joins": lambda: _joins(args),
        "logins": lambda: _logins(args),
        "overload": lambda: _overload(args, ceiling),
        "talk": lambda: _talk(args),
        "cluster": lambda: _cluster(args),
        "floor": lambda: _floor(args),
    }
    out: dict[str, Any] = {}
    for name in args.sections:
        print(f"section: {name}", file=sys.stderr, flush=True)
        try:
            out[name] = runners[name]()
        except Exception as exc:  # a section that fails leaves the others standing
            out[name] = {"error": f"{type(exc).__name__}: {str(exc)[-300:]}"}
        print("   ", json.dumps(out[name])[:2000], file=sys.stderr, flush=True)
    return out


def _bandwidth(args: argparse.Namespace) -> dict:
    from bench import bandwidth
    return bandwidth.section(argparse.Namespace(players=args.bandwidth_players,
                                                seconds=args.seconds, rate=args.rate))


def _joins(args: argparse.Namespace) -> dict:
    from bench import join_storm
    return join_storm.section(argparse.Namespace(players=args.storm_players))


def _logins(args: argparse.Namespace) -> dict:
    from bench import login_burst
    return login_burst.section(argparse.Namespace(logins=args.logins, async_mode="both"))


def _overload(args: argparse.Namespace, ceiling: int | None) -> dict:
    from bench import overload
    players = args.overload_players or round(1.5 * (ceiling or overload.PLAYERS / 1.5))
    result = overload.section(argparse.Namespace(overload_players=players, seconds=args.seconds))
    result["ceiling"] = ceiling
    return result


def _talk(args: argparse.Namespace) -> dict:
    from bench import talk
    return talk.section(talk.build_parser().parse_args([]))


def _cluster(args: argparse.Namespace) -> dict:
    from bench import scaleout
    return scaleout.section(argparse.Namespace(
        crowd=scaleout.parse_counts(args.cluster_crowd),
        spread=scaleout.parse_counts(args.cluster_spread), rate=args.rate, seconds=args.seconds))


def _floor(args: argparse.Namespace) -> dict:
    from bench import io_floor
    return io_floor.section(argparse.Namespace(seconds=args.seconds))


# -- markdown ------------------------------------------------------------------------
def fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.2f}{unit}" if abs(v) < 10 else f"{v:,.1f}{unit}"
    if isinstance(v, int):
        return f"{v:,}{unit}"
    return f"{v}{unit}"


def verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("yes" if ok else "**no**")


def _bucket_ms(label: Any) -> float | None:
    """``"<=10"`` → 10.0 (an upper bound); ``">250"`` → inf; a number as it is."""
    if isinstance(label, (int, float)):
        return float(label)
    if isinstance(label, str):
        if label.startswith("<="):
            return float(label[2:])
        if label.startswith(">"):
            return float("inf")
    return None


def goal_rows(results: dict[str, Any]) -> list[str]:
    rows = []
    band = results.get("bandwidth") or {}
    new = band.get("binary") or {}
    if new and "error" not in new:
        mbit = new.get("uplink_mbit_s")
        rows.append(f"| bandwidth: {new.get('players')} players in one crowd at 20 Hz within a "
                    f"{UPLINK_MBIT:g} Mbit/s upload | {fmt(mbit)} Mbit/s "
                    f"({fmt(new.get('bytes_per_mover_per_snapshot'))} bytes per mover per "
                    f"snapshot, {fmt(new.get('movers_per_snapshot'))} movers a snapshot) "
                    f"| {verdict(None if mbit is None else mbit <= UPLINK_MBIT)} |")
    joins = results.get("joins") or {}
    for r in joins.get("runs") or []:
        p99 = _bucket_ms(r.get("lateness_p99_ms"))
        rows.append(f"| join storm: {joins.get('players')} joins in {fmt(joins.get('spread_s'))} s, "
                    f"tick lateness p99 <= 10 ms | p99 {r.get('lateness_p99_ms', '–')} ms, "
                    f"max {r.get('lateness_max_ms', '–')} ms | "
                    f"{verdict(None if p99 is None else p99 <= 10)} |")
    logins = results.get("logins") or {}
    for mode in ("eventlet", "threading"):
        r = logins.get(mode)
        if not r:
            continue
        p99 = _bucket_ms(r.get("lateness_p99_ms_at_most"))
        ok = r.get("seconds", 1e9) <= 10 and r.get("ok") == r.get("logins") and \
            p99 is not None and p99 <= 10
        rows.append(f"| login storm ({mode}): {r.get('logins')} logins within 10 s, tick p99 "
                    f"<= 10 ms | {fmt(r.get('seconds'))} s, {r.get('ok')} ok, tick p99 <= "
                    f"{fmt(r.get('lateness_p99_ms_at_most'))} ms | {verdict(ok)} |")
    over = results.get("overload") or {}
    for r in over.get("runs") or []:
        if "error" in r:
            continue
        ok = r.get("too_fast") == 0 and (r.get("delivered_pct") or 0) >= 95
        measured = (f"{fmt(r.get('too_fast'))} `too_fast`, {fmt(r.get('delivered_pct'), ' %')} "
                    f"delivered, overloaded: {r.get('host_overloaded')}, "
                    f"{fmt(r.get('host_tick_rate'))} Hz")
        if not r.get("host_overloaded"):
            # The host kept up: this load was not past its ceiling, so it
            # shows nothing of how the host bends under overload.
            measured += " (the host kept up: not an overload)"
            ok = None
        rows.append(f"| overload: {over.get('players')} players (1.5x the crowd ceiling "
                    f"{fmt(over.get('ceiling'))}), no honest walker corrected, >= 95 % nearby "
                    f"delivered, host says so | {measured} | {verdict(ok)} |")
    return rows


def markdown(results: dict[str, Any]) -> list[str]:
    if not results:
        return []
    lines = ["## Speed, round two: against the goals", "",
             "| goal | measured | met? |", "|---|---|---|", *goal_rows(results), ""]
    band = results.get("bandwidth")
    if band:
        lines += ["## Bandwidth: what a crowd costs the host's upload", "",
                  f"{band.get('players')} players walking in one crowd at "
                  f"{fmt(band.get('tick_rate'))} Hz (`python -m bench.bandwidth`), every byte "
                  "a client receives counted on its socket (WebSocket, Engine.IO and Socket.IO "
                  "framing included). *binary* is this host (binary snapshots, quarter-pixel "
                  "deltas, see `docs/protocol.md`); *JSON* is the host before it (JSON "
                  "snapshots), run on the same machine right after. Players a "
                  f"{UPLINK_MBIT:g} Mbit/s upload carries: N with N clients x N movers x 20 "
                  "snapshots x bytes per mover within the upload.", "",
                  "| host | players joined | bytes per mover per snapshot | movers per snapshot "
                  "| bytes/s per client | upload for all, Mbit/s | players in 10 Mbit/s "
                  "| p99 ms | delivered |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, key in (("binary", "binary"), ("JSON (before)", "json")):
            r = band.get(key)
            if not r:
                continue
            if "error" in r:
                lines.append(f"| {name} | failed: {str(r['error']).splitlines()[-1][:80]} ||||||||")
                continue
            lines.append(f"| {name} | {fmt(r.get('joined'))} | "
                         f"{fmt(r.get('bytes_per_mover_per_snapshot'))} | "
                         f"{fmt(r.get('movers_per_snapshot'))} | "
                         f"{fmt(r.get('bytes_per_client_per_s'))} | {fmt(r.get('uplink_mbit_s'))} | "
                         f"{fmt(r.get('players_in_10_mbit_s'))} | {fmt(r.get('p99_ms'))} | "
                         f"{fmt(r.get('delivered_pct'), ' %')} |")
        model = band.get("model") or {}
        if model:
            lines += ["", f"The encodings considered, on a model crowd of {model.get('players')} "
                      f"walkers ({fmt(model.get('movers_per_snapshot'))} movers a snapshot, no "
                      "host), bytes per mover per snapshot with framing:", "",
                      "| encoding | bytes |", "|---|---:|"]
            for k, v in (model.get("bytes_per_mover_per_snapshot") or {}).items():
                lines.append(f"| {k} | {fmt(v)} |")
        lines.append("")
    joins = results.get("joins")
    if joins:
        lines += ["## Join storm", "",
                  f"{joins.get('players')} players join within {fmt(joins.get('spread_s'))} s "
                  f"while {joins.get('walkers')} walk (`python -m bench.join_storm`; tokens "
                  "issued beforehand, so no password is hashed here). Lateness from the "
                  "host's histogram over the storm (bucket bounds).", "",
                  "| ticks | lateness p50 | p99 | max | ticks over 10 ms | packets written "
                  "| host CPU |", "|---:|---:|---:|---:|---:|---:|---:|"]
        for r in joins.get("runs") or []:
            lines.append(f"| {fmt(r.get('ticks'))} | {r.get('lateness_p50_ms', '–')} | "
                         f"{r.get('lateness_p99_ms', '–')} | {r.get('lateness_max_ms', '–')} | "
                         f"{fmt(r.get('ticks_over_10ms'))} | {fmt(r.get('fanout_packets'))} | "
                         f"{fmt(r.get('host_cpu_pct'), ' %')} |")
        lines.append("")
    logins = results.get("logins")
    if logins:
        lines += ["## Login storm", "",
                  f"{logins.get('logins')} accounts log in at once (`python -m "
                  "bench.login_burst`): argon2id (m=19456 KiB, t=2, p=1) in worker processes. "
                  "Tick lateness over the storm from the host's histogram (bucket bounds); "
                  "max sampled.", "",
                  "| async mode | last answer after | ok | tick p50 | tick p99 | tick max ms "
                  "| hashing workers |", "|---|---:|---:|---:|---:|---:|---:|"]
        for mode in ("eventlet", "threading"):
            r = logins.get(mode)
            if r:
                lines.append(f"| {mode} | {fmt(r.get('seconds'), ' s')} | {r.get('ok')} | "
                             f"<= {fmt(r.get('lateness_p50_ms_at_most'))} | "
                             f"<= {fmt(r.get('lateness_p99_ms_at_most'))} | "
                             f"{fmt(r.get('lateness_max_ms'))} | {r.get('hash_workers')} |")
        lines.append("")
    over = results.get("overload")
    if over:
        lines += ["## Overload: 1.5x the crowd ceiling", "",
                  f"{over.get('players')} players in one crowd (`python -m bench.overload`), "
                  f"1.5 times the largest crowd held above ({fmt(over.get('ceiling'))}). "
                  "Honest walkers must never be corrected, nearby players keep >= 95 % "
                  "delivered, and the host says it is overloaded.", "",
                  "| delivered | p50 ms | p99 ms | too_fast | corrections | overloaded | tick rate "
                  "| host CPU |", "|---:|---:|---:|---:|---|---|---:|---:|"]
        for r in over.get("runs") or []:
            if "error" in r:
                lines.append(f"| failed: {str(r['error']).splitlines()[-1][:80]} |||||||")
                continue
            lines.append(f"| {fmt(r.get('delivered_pct'), ' %')} | {fmt(r.get('p50_ms'))} | "
                         f"{fmt(r.get('p99_ms'))} | {fmt(r.get('too_fast'))} | "
                         f"{json.dumps(r.get('corrections') or {})} | {r.get('host_overloaded')} | "
                         f"{fmt(r.get('host_tick_rate'))} | {fmt(r.get('host_cpu_pct'), ' %')} |")
        for r in over.get("runs") or []:
            for line in r.get("overload_log") or []:
                lines.append(f"\n    {line}")
        lines.append("")
    talk = results.get("talk")
    if talk:
        lines += ["## Crowd with nearby talk", "",
                  "The crowd without talk and with 10 % of the players saying a line every "
                  "10 s (`python -m bench.talk`).", "",
                  "| run | p50 ms | p99 ms | delivered | host CPU | lines said/s | lines heard/s |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for name in ("without", "with"):
            r = talk.get(name) or {}
            if "error" in r:
                lines.append(f"| {name} | failed ||||||")
                continue
            lines.append(f"| {name} talk ({r.get('players')} players) | {fmt(r.get('p50_ms'))} | "
                         f"{fmt(r.get('p99_ms'))} | {fmt(r.get('delivered_pct'), ' %')} | "
                         f"{fmt(r.get('host_cpu_pct'), ' %')} | {fmt(r.get('said_per_s'))} | "
                         f"{fmt(r.get('heard_per_s'))} |")
        lines.append("")
    if results.get("cluster"):
        from bench import scaleout
        lines += scaleout.markdown(results["cluster"])
    if results.get("floor"):
        from bench import io_floor
        lines += io_floor.markdown(results["floor"])
    lines += ["Raw figures of these sections:", "", "```"]
    lines += [f"{k} {json.dumps(v)}" for k, v in results.items()]
    lines += ["```", ""]
    return lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help="speed sections to run after the crowd and spread runs "
                             f"(any of {', '.join(SECTIONS)}; 'none' for none)")
    parser.add_argument("--bandwidth-players", type=int, default=150, metavar="N")
    parser.add_argument("--storm-players", type=int, default=500, metavar="N")
    parser.add_argument("--logins", type=int, default=200, metavar="N")
    parser.add_argument("--cluster-crowd", default="300,400,500,600", metavar="COUNTS",
                        help="crowd counts of the cluster section, on one process and two")
    parser.add_argument("--cluster-spread", default="500,750,1000", metavar="COUNTS",
                        help="uniform spread counts of the cluster section (0: none)")
    parser.add_argument("--overload-players", type=int, default=0, metavar="N",
                        help="players of the overload run (0: 1.5x the crowd ceiling measured)")


def parse_sections(value: str) -> list[str]:
    if value.strip() in ("", "none"):
        return []
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise SystemExit(f"bench.run: unknown section(s): {', '.join(unknown)}")
    return names
