// Join storm for the benchmark (bench/join_storm.py).
//
//     node bench/loadgen/joinstorm.mjs PLAN.json
//
// The plan gives the host's URL and two lists of session tokens, issued
// before the run: walkers, who join one after another and then walk on the
// spot (a few pixels back and forth, MOVE_HZ moves a second) for the whole
// run, and joiners, who connect and join spread evenly over spread_s seconds
// while the walkers walk.  Joiners then stand still until settle_s seconds
// after the last one started.
//
// Walkers and every `sample`-th joiner keep the list of who is online the
// way docs/protocol.md says (welcome.players, then players_left and
// players_joined in order; the per-player player_joined / player_left of
// older hosts too) and report anything that did not add up.  Every client
// counts the presence packets it received.
//
// stdout carries JSON lines only: {"storm": {start_ms, end_ms}} (Unix ms)
// when the joiners start and when the last has started, then {"stats": ...}.
// Progress and problems go to stderr.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { io } from "socket.io-client";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const MOVE_HZ = plan.move_hz || 20;
const JOIN_TIMEOUT_MS = (plan.join_timeout_s || 30) * 1000;
const ENGINE_MESSAGE = "4".charCodeAt(0);
const PRESENCE = ['42["players_joined"', '42["players_left"', '42["player_joined"',
  '42["player_left"'];

const log = (...parts) => process.stderr.write(parts.join(" ") + "\n");
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const epoch = (t) => performance.timeOrigin + t;

let presencePackets = 0; // presence events received, all clients
let presenceBytes = 0;
let errors = 0;
let disconnects = 0;
let corrections = 0;
let closing = false;
const problems = [];
const welcomeMs = []; // connect start to welcome, joiners

function makeClient(token, keepsRoster) {
  return { token, keepsRoster, socket: null, id: null, joined: false, online: new Set(),
    x: 0, y: 0, seq: 0 };
}

function note(client, what) {
  if (problems.length < 1000) problems.push(what);
  if (problems.length <= 5) log(`client ${client.id}: ${what}`);
}

function countIncoming(client, transport) {
  const handle = transport.onData.bind(transport);
  transport.onData = (data) => {
    if (typeof data === "string" && data.charCodeAt(0) === ENGINE_MESSAGE) {
      for (const prefix of PRESENCE) {
        if (data.startsWith(prefix)) {
          presencePackets += 1;
          presenceBytes += data.length;
          if (!client.keepsRoster) return; // nothing to look at
          break;
        }
      }
      if (!client.keepsRoster && data.startsWith('42["snapshot"')) return;
    }
    handle(data);
  };
}

function added(client, id) {
  if (id === client.id) note(client, `told that it joined itself`);
  else if (client.online.has(id)) note(client, `${id} joined twice`);
  client.online.add(id);
}

function removed(client, id) {
  if (!client.online.has(id)) note(client, `${id} left but was not listed`);
  client.online.delete(id);
}

function connectAndJoin(client) {
  return new Promise((resolve) => {
    const started = performance.now();
    let settled = false;
    const settle = (ok, why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!ok) {
        log(`join failed: ${why}`);
        socket.disconnect();
      }
      resolve(ok);
    };
    const timer = setTimeout(() => settle(false, "no welcome in time"), JOIN_TIMEOUT_MS);
    const socket = io(plan.url, { auth: { token: client.token }, transports: ["websocket"],
      perMessageDeflate: false, reconnection: false, forceNew: true,
      timeout: JOIN_TIMEOUT_MS });
    client.socket = socket;
    socket.on("connect", () => {
      countIncoming(client, socket.io.engine.transport);
      socket.emit("join", {});
    });
    socket.on("connect_error", (err) => {
      errors += 1;
      settle(false, `connect_error ${err.message}`);
    });
    socket.on("welcome", (data) => {
      client.id = data.you.id;
      client.x = data.you.x;
      client.y = data.you.y;
      client.online = new Set(data.players.map((p) => p.id));
      client.joined = true;
      welcomeMs.push(performance.now() - started);
      settle(true);
    });
    socket.on("players_joined", (data) => { for (const p of data.players) added(client, p.id); });
    socket.on("players_left", (data) => { for (const id of data.ids) removed(client, id); });
    socket.on("player_joined", (data) => added(client, data.id));
    socket.on("player_left", (data) => removed(client, data.id));
    socket.on("correction", (data) => {
      corrections += 1;
      client.x = data.x;
      client.y = data.y;
    });
    socket.on("error", () => { errors += 1; });
    socket.on("disconnect", (reason) => {
      client.joined = false;
      if (!closing) {
        disconnects += 1;
        if (disconnects <= 5) log(`disconnected (${reason})`);
      }
      settle(false, `disconnected (${reason})`);
    });
  });
}

/** Walkers step 4 px right and back, MOVE_HZ times a second (80 px/s at 20 Hz). */
function walk(walkers) {
  let step = 0;
  const timer = setInterval(() => {
    step += 1;
    const dx = step % 2 ? 4 : -4;
    for (const w of walkers) {
      if (!w.joined) continue;
      w.x += dx;
      w.seq += 1;
      w.socket.emit("move", { seq: w.seq, x: w.x, y: w.y });
    }
  }, 1000 / MOVE_HZ);
  return () => clearInterval(timer);
}

async function main() {
  const walkers = plan.walkers.map((t) => makeClient(t, true));
  const joiners = plan.joiners.map((t, i) => makeClient(t, i % (plan.sample || 10) === 0));
  for (const w of walkers) await connectAndJoin(w);
  const stopWalking = walk(walkers);
  await sleep((plan.warmup_s || 2) * 1000);
  const t0 = performance.now() + 200;
  const spreadMs = plan.spread_s * 1000;
  const n = joiners.length;
  say({ storm: { start_ms: epoch(t0), end_ms: epoch(t0 + spreadMs) } });
  const joins = joiners.map(async (j, k) => {
    await sleep(t0 + (spreadMs * k) / n - performance.now());
    return connectAndJoin(j);
  });
  const joinedCount = (await Promise.all(joins)).filter(Boolean).length;
  const lastJoin = performance.now();
  await sleep(Math.max(0, t0 + spreadMs + plan.settle_s * 1000 - performance.now()));
  stopWalking();
  // Everyone who kept a list must now list every other client still joined.
  const everyone = new Set([...walkers, ...joiners].filter((c) => c.joined).map((c) => c.id));
  let rosters = 0;
  let rosterMismatches = 0;
  for (const c of [...walkers, ...joiners]) {
    if (!c.keepsRoster || !c.joined) continue;
    rosters += 1;
    const missing = [...everyone].filter((id) => id !== c.id && !c.online.has(id)).length;
    if (missing) {
      rosterMismatches += 1;
      note(c, `${missing} players missing from its list`);
    }
  }
  welcomeMs.sort((a, b) => a - b);
  const pick = (q) => (welcomeMs.length
    ? Number(welcomeMs[Math.min(welcomeMs.length - 1, Math.floor(q * welcomeMs.length))]
      .toFixed(1)) : null);
  say({ stats: { walkers: walkers.length, joiners: n, joined: joinedCount,
    all_joined_after_s: Number(((lastJoin - t0) / 1000).toFixed(2)),
    welcome_p50_ms: pick(0.5), welcome_p99_ms: pick(0.99), presence_packets: presencePackets,
    presence_bytes: presenceBytes, rosters_checked: rosters, roster_mismatches: rosterMismatches,
    problems: problems.length, first_problems: problems.slice(0, 5), corrections, errors,
    disconnects } });
  closing = true;
  for (const c of [...walkers, ...joiners]) if (c.socket) c.socket.disconnect();
  await sleep(300);
  process.exit(0);
}

main().catch((err) => {
  log(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
