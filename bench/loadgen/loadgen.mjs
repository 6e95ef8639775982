// Measurement-only load generator for the benchmark (bench/run.py).
//
//     node bench/loadgen/loadgen.mjs PLAN.json
//
// bench/node_load.py writes the plan: the host's URL, the rate, the timing,
// and for every player its account and a path precomputed with
// game.bots.Walker (one position per 1/rate s, rounded to 0.1 px).  This
// program logs the players in, joins them, walks them along their paths and
// measures move-to-delivery latency exactly as `python -m bench.load --report`
// defines it, but costs far less CPU per player, so on a small machine the
// figures describe the host rather than the load tool.
//
// Moves carry t (when the position was reached, on this process's monotonic
// clock, ms) and follow the host's pace: while it is overloaded it asks for
// half its rate (a pace event, or the welcome's tick_rate) and every player
// then sends every other path position, leaving out only those the plan marks
// skippable (the straight line past them is walkable).
// With plan.talk ({fraction, every_s}) that share of the players also say a
// line aloud every every_s seconds (`say`, docs/protocol.md section 17),
// spread evenly over the interval; the lines heard (`said`) are counted.
//
// stdout carries JSON lines only: {"window": ...} when the players start
// walking (wall-clock start and end of the measurement window, Unix ms) and
// {"stats": ...} at the end.  Progress and problems go to stderr.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { inflateRawSync } from "node:zlib";
import { io } from "socket.io-client";

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const RATE = plan.rate;
const PERIOD_MS = 1000 / RATE;
const VIEW = plan.view_px;
const DEADLINE_MS = plan.deadline_ms;
// Hosts older than the move's t refuse it as an unknown field.
const MOVE_TIME = plan.move_time !== false;
const LOGINS_IN_FLIGHT = plan.logins_in_flight || 8;
const JOIN_TIMEOUT_MS = (plan.join_timeout_s || 30) * 1000;
const HTTP_TIMEOUT_MS = 60000;
// A send this many steps late reports only the newest ones (the host refuses
// more than MOVES_PER_SECOND moves a second from one player).
const MAX_CATCH_UP_STEPS = 8;
// An Engine.IO message carrying a Socket.IO EVENT on the default namespace:
// a snapshot of a host that sends JSON; or the text packet of a BINARY_EVENT,
// whose one attachment is the next (binary) message.
const ENGINE_MESSAGE = "4".charCodeAt(0);
const SNAPSHOT_PREFIX = '42["snapshot"';
const BINARY_SNAPSHOT_PREFIX = '451-["snapshot"';
const SAID_PREFIX = '42["said"';
const TALK = plan.talk && plan.talk.fraction > 0 ? plan.talk : null;
// What the talkers say, in turn.
const LINES = [
  "hello!",
  "anyone up for a walk to the lake?",
  "nice day in the plaza",
  "has anyone seen the new map by the river? I heard there is a cave behind the waterfall",
  "brb",
  "who wants to race to the bridge?",
];

const log = (...parts) => process.stderr.write(parts.join(" ") + "\n");
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// -- tallies shared by all players -------------------------------------------
const corrections = {};
let correctionCount = 0;
let errors = 0;
let disconnects = 0;
let startMismatch = 0;
let loginFailures = 0;
let rewinds = 0;
let saidSent = 0;
let closing = false;
// Path steps per move: 1 at the plan's rate, 2 while the host asks for half.
let stride = 1;
const paces = []; // [performance.now(), tick_rate, overloaded] as the host announced them

function setPace(data, announced) {
  if (!data || typeof data.tick_rate !== "number" || !(data.tick_rate > 0)) return;
  stride = Math.max(1, Math.round(RATE / data.tick_rate));
  if (announced) {
    const last = paces[paces.length - 1];
    if (!last || last[1] !== data.tick_rate) {
      paces.push([performance.now(), data.tick_rate, data.overloaded === true]);
    }
  }
}

// Positions travel rounded to 0.1 px: one integer identifies a spot.
const spotKey = (x, y) => Math.round(x * 10) * 1e6 + Math.round(y * 10);
// Binary snapshots give positions in whole quarter pixels (protocol.md,
// "Binary snapshots and areas"): the spot a sent position comes back as.
const quarterKey = (x, y) => spotKey(Math.round(x * 4) / 4, Math.round(y * 4) / 4);

// -- binary snapshots and areas, as protocol.md lays them out -------------------------
class PositionBook {
  constructor() {
    this.units = new Map(); // id -> [x, y, step x, step y] in quarter pixels, as last sent
    this.unknown = 0;
  }

  static body(data) {
    const bytes = new Uint8Array(data.buffer ? data.buffer : data, data.byteOffset || 0,
                                 data.byteLength);
    if (bytes[0] !== 1) throw new Error(`unknown wire version ${bytes[0]}`);
    const flags = bytes[1];
    const body = flags & 1 ? new Uint8Array(inflateRawSync(bytes.subarray(2))) : bytes.subarray(2);
    return { flags, body, i: 0 };
  }

  static varint(r) {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (r.i >= r.body.length) throw new Error("truncated varint");
      const b = r.body[r.i++];
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return value;
    }
  }

  static ids(r) {
    const n = PositionBook.varint(r);
    const out = [];
    let prev = 0;
    for (let k = 0; k < n; k++) {
      prev += PositionBook.varint(r);
      out.push(prev);
    }
    return out;
  }

  /** {tick, t, p: [id, x, y, ...], gone} in pixels. */
  snapshot(data) {
    const r = PositionBook.body(data);
    const tick = PositionBook.varint(r);
    const t = PositionBook.varint(r);
    const p = [];
    for (const id of PositionBook.ids(r)) {
      const x = PositionBook.varint(r);
      const y = PositionBook.varint(r);
      this.units.set(id, [x, y, 0, 0]);
      p.push(id, x / 4, y / 4);
    }
    for (const id of PositionBook.ids(r)) {
      const dx = (r.body[r.i] << 24) >> 24; // a signed byte
      const dy = (r.body[r.i + 1] << 24) >> 24;
      r.i += 2;
      const last = this.units.get(id);
      if (last === undefined) {
        this.unknown += 1;
        continue;
      }
      last[2] += dx; // the step changes, then the position moves by it
      last[3] += dy;
      last[0] += last[2];
      last[1] += last[3];
      p.push(id, last[0] / 4, last[1] / 4);
    }
    const gone = PositionBook.ids(r);
    for (const id of gone) this.units.delete(id);
    return { tick, t, p, gone };
  }

  /** {enter: [id, x, y, ...], leave, reset} in pixels. */
  area(data) {
    const r = PositionBook.body(data);
    const reset = (r.flags & 2) !== 0;
    if (reset) this.units.clear();
    const enter = [];
    for (const id of PositionBook.ids(r)) {
      const x = PositionBook.varint(r);
      const y = PositionBook.varint(r);
      const sx = (r.body[r.i] << 24) >> 24;
      const sy = (r.body[r.i + 1] << 24) >> 24;
      r.i += 2;
      this.units.set(id, [x, y, sx, sy]);
      enter.push(id, x / 4, y / 4);
    }
    const leave = PositionBook.ids(r);
    for (const id of leave) this.units.delete(id);
    return { enter, leave, reset };
  }
}

let undecoded = 0;
function decoded(player, kind, data) {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return null;
  if (!(data instanceof ArrayBuffer || ArrayBuffer.isView(data))) return data; // a JSON host
  try {
    return kind === "snapshot" ? player.book.snapshot(data) : player.book.area(data);
  } catch (err) {
    undecoded += 1;
    if (undecoded <= 5) log(`${player.name}: ${kind} not read: ${err.message}`);
    return null;
  }
}

// A world served by several host processes: player i logs in and plays on
// urls[i % n] (each process is one address; see bench.cluster).
const URLS = plan.urls && plan.urls.length ? plan.urls : [plan.url];
const players = plan.players.map((p, index) => ({
  index,
  url: URLS[index % URLS.length],
  name: p.name,
  password: p.password,
  path: Float64Array.from(p.path),
  skip: p.skip || "",
  steps: p.path.length / 2,
  x: p.path[0],
  y: p.path[1],
  id: null,
  joined: false,
  observer: -1, // slot among the sampled observers
  watching: false, // reads its snapshots (see chooseWatchers)
  socket: null,
  ws: null, // the socket's WebSocket, for the moves
  seq: 0,
  lastT: 0, // t of the last move sent
  step: 0, // path index last reported
  behind: 0, // steps the player walks behind the clock since it took corrections
  resyncSeq: 0, // newest seq sent when the player last took a correction
  sentStep: [], // seq - 1 -> path index
  sentT: [], // seq - 1 -> send time
  sentMask: [], // seq - 1 -> bitmask of observers expected to see it
  seqAt: new Map(), // spot -> newest seq sent from there
  snapshots: 0,
  bytes: 0,
  entries: 0, // movers listed in the snapshots an observer read
  book: null,
  heard: 0, // lines said aloud that reached this player
}));
const byPid = new Map();
const observers = [];
// deliveries[slot]: mover id -> {seqs, times}, increasing seqs with receive time
const deliveries = [];

// -- logging in and joining -------------------------------------------------------
async function post(url, path, body) {
  const reply = await fetch(url + path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  let data = {};
  try {
    data = await reply.json();
  } catch {
    // an answer without a JSON body is reported by its status
  }
  return { status: reply.status, data };
}

/** A session token: register (not throttled), or log in when the name exists. */
async function tokenFor(player) {
  const creds = { username: player.name, password: player.password };
  let answer = await post(player.url, "/api/register", creds);
  if (answer.status === 409) answer = await post(player.url, "/api/login", creds);
  if (answer.status !== 200 && answer.status !== 201) {
    throw new Error(`${answer.status} ${answer.data.error || ""} ${answer.data.message || ""}`);
  }
  return answer.data.token;
}

/**
 * Count what arrives, before Engine.IO and Socket.IO look at it.  A player
 * that is not an observer never looks inside its snapshots, so they stop
 * here: passing every snapshot of hundreds of players through both layers
 * would cost the generator more than anything else it does.
 */
function countIncoming(player, transport) {
  const handle = transport.onData.bind(transport);
  let dropping = false; // the attachment of a dropped binary snapshot comes next
  transport.onData = (data) => {
    if (typeof data === "string" && data.charCodeAt(0) === ENGINE_MESSAGE) {
      const size = data.length; // with the engine.io type byte
      player.bytes += size + (size < 126 ? 2 : 4); // WebSocket header
      if (data.startsWith(SNAPSHOT_PREFIX) || data.startsWith(BINARY_SNAPSHOT_PREFIX)) {
        player.snapshots += 1;
        if (!player.watching) {
          dropping = data.charCodeAt(1) === 53; // "5": a binary event
          return;
        }
      } else if (data.startsWith(SAID_PREFIX)) {
        player.heard += 1;
        return; // counted; nothing else looks at it
      }
    } else if (typeof data !== "string") {
      const size = data.byteLength; // a binary message goes as it is
      player.bytes += size + (size < 126 ? 2 : size < 65536 ? 4 : 10);
      if (dropping) {
        dropping = false;
        return;
      }
    }
    handle(data);
  };
}

function connectAndJoin(player, token) {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ok, why) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!ok) {
        log(`${player.name}: ${why}`);
        socket.disconnect();
      }
      resolve(ok);
    };
    const timer = setTimeout(() => settle(false, "no welcome in time"), JOIN_TIMEOUT_MS);
    const socket = io(player.url, {
      auth: { token },
      transports: ["websocket"],
      perMessageDeflate: false, // the host does not compress
      reconnection: false,
      forceNew: true,
      timeout: JOIN_TIMEOUT_MS,
    });
    player.socket = socket;
    socket.on("connect", () => {
      player.book = new PositionBook(); // the positions deltas apply to, per connection
      const transport = socket.io.engine.transport; // websocket only: never upgraded
      countIncoming(player, transport);
      player.ws = transport.ws;
      socket.emit("join", {});
    });
    socket.on("connect_error", (err) => {
      errors += 1;
      settle(false, `connect_error ${err.message}`);
    });
    socket.on("welcome", (data) => {
      const you = data.you;
      player.id = you.id;
      byPid.set(you.id, player);
      if (Math.abs(you.x - player.x) > 0.05 || Math.abs(you.y - player.y) > 0.05) {
        startMismatch += 1;
        if (startMismatch <= 5) {
          log(`${player.name} starts at ${you.x},${you.y}, its path at ${player.x},${player.y}`);
        }
      }
      player.joined = true;
      setPace(data, paces.length === 0);
      settle(true);
    });
    socket.on("pace", (data) => setPace(data, true));
    socket.on("snapshot", (data) => {
      if (!player.watching) return;
      const at = performance.now();
      const snap = decoded(player, "snapshot", data);
      if (snap && player.observer >= 0) {
        player.entries += Array.isArray(snap.p) ? snap.p.length / 3 : 0;
        observe(player, snap.p, at);
      }
    });
    socket.on("area", (data) => {
      const at = performance.now();
      const area = decoded(player, "area", data); // every player keeps its table in step
      if (area && player.observer >= 0) observe(player, area.enter, at);
    });
    socket.on("correction", (data) => {
      const reason = String(data && data.reason);
      corrections[reason] = (corrections[reason] || 0) + 1;
      correctionCount += 1;
      if (correctionCount <= 5) {
        log(`${player.name}: correction ${JSON.stringify(data)}, last sent ${player.x},${player.y}`);
      }
      rewind(player, data);
    });
    socket.on("error", (data) => {
      errors += 1;
      if (errors <= 5) log(`${player.name}: host error ${JSON.stringify(data)}`);
      if (!player.joined && data && data.event === "join") settle(false, "join refused");
    });
    socket.on("session_ended", (data) => {
      player.joined = false;
      log(`${player.name}: session ended ${JSON.stringify(data)}`);
    });
    socket.on("disconnect", (reason) => {
      player.joined = false;
      if (!closing) {
        disconnects += 1;
        if (disconnects <= 5) log(`${player.name}: disconnected (${reason})`);
      }
      settle(false, `disconnected (${reason})`);
    });
  });
}

async function joinEveryone() {
  let next = 0;
  let done = 0;
  // The host hashes one password at a time: a few requests in flight keep it
  // busy without piling up its queue.
  async function worker() {
    while (next < players.length) {
      const player = players[next++];
      // A plan may carry a session the host already gave this account.
      let token = player.token || null;
      for (let attempt = 1; attempt <= 3 && token === null; attempt++) {
        try {
          token = await tokenFor(player);
        } catch (err) {
          log(`${player.name}: ${err.message} (attempt ${attempt})`);
          await sleep(500 + 1000 * (attempt - 1));
        }
      }
      if (token === null) {
        loginFailures += 1;
        continue;
      }
      player.token = token;
      done += 1;
      if (done % 100 === 0) log(`logged in ${done}/${players.length}`);
    }
  }
  await Promise.all(Array.from({ length: LOGINS_IN_FLIGHT }, worker));
  // Joins one after another in plan order: the host moves a joiner aside from
  // whoever already stands on its spot, and the plan's start positions assume
  // exactly this order.
  for (const player of players) {
    if (player.token !== undefined && player.token !== null) await connectAndJoin(player, player.token);
  }
  return players.filter((p) => p.joined).length;
}

// A small seeded generator, so the observer sample repeats between runs.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The players that may become observers, chosen before anyone joins: they
 * read every snapshot from the start, so their tables of positions hold every
 * player whose deltas they will measure (a player that skipped the snapshot
 * where another appeared whole could not read that player's deltas until the
 * host sent them whole again).  Twice as many as needed, in case some fail
 * to join.
 */
function chooseWatchers(count) {
  const order = players.slice();
  const random = mulberry32(plan.seed || 1);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const watchers = order.slice(0, Math.min(order.length, 2 * Math.min(count, 31)));
  for (const player of watchers) player.watching = true;
  return watchers;
}

function chooseObservers(watchers, count) {
  // One bit per observer in each send's mask.
  for (const player of watchers.filter((p) => p.joined).slice(0, Math.min(count, 31))) {
    player.observer = observers.length;
    observers.push(player);
    deliveries.push(new Map());
  }
}

// -- latency ------------------------------------------------------------------------
function observe(observer, flat, at) {
  if (!Array.isArray(flat)) return;
  const seen = deliveries[observer.observer];
  for (let i = 0; i < flat.length - 2; i += 3) {
    const mover = byPid.get(flat[i]);
    if (mover === undefined || mover === observer) continue;
    const seq = mover.seqAt.get(spotKey(flat[i + 1], flat[i + 2]));
    // not ours, or a spot the mover came back to since
    if (seq === undefined || mover.sentT[seq - 1] > at) continue;
    const entry = seen.get(flat[i]);
    if (entry === undefined) {
      seen.set(flat[i], { seqs: [seq], times: [at] });
    } else if (seq > entry.seqs[entry.seqs.length - 1]) {
      entry.seqs.push(seq);
      entry.times.push(at);
    }
  }
}

function bisectLeft(values, target) {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const percentile = (sorted, q) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null;

/** Latencies of the expected (move, observer) pairs sent inside the window. */
function tally(windowStart, windowEnd) {
  const lastSend = windowEnd - DEADLINE_MS;
  const latencies = [];
  const across = []; // pairs whose mover and observer play on different processes
  let expected = 0;
  let delivered = 0;
  for (const mover of players) {
    if (mover.id === null) continue;
    for (let slot = 0; slot < observers.length; slot++) {
      const bit = 1 << slot;
      const remote = observers[slot].url !== mover.url;
      const entry = deliveries[slot].get(mover.id) || { seqs: [], times: [] };
      for (let s = 0; s < mover.sentT.length; s++) {
        const tSend = mover.sentT[s];
        if (!(mover.sentMask[s] & bit) || tSend < windowStart || tSend > lastSend) continue;
        expected += 1;
        const j = bisectLeft(entry.seqs, s + 1);
        if (j === entry.seqs.length) continue;
        const latency = entry.times[j] - tSend;
        latencies.push(latency);
        if (remote) across.push(latency);
        if (latency <= DEADLINE_MS) delivered += 1;
      }
    }
  }
  latencies.sort((a, b) => a - b);
  across.sort((a, b) => a - b);
  return { latencies, across, expected, delivered };
}

// -- walking ------------------------------------------------------------------------
let walkStart = 0; // performance.now() when the players started walking
let playerCount = 1;

/** The path index a player on schedule has reached at ``now``. */
function clockStep(player, now) {
  const phase = walkStart + (PERIOD_MS * player.index) / playerCount;
  return Math.floor((now - phase) / PERIOD_MS + 1e-6);
}

/**
 * Go back along the path to where the host holds the player.
 *
 * The host checks each move from the last one it accepted.  Once it refuses
 * one (or drops one over the rate limit while it is overloaded), the next
 * path positions may lie too far from its position to ever be accepted;
 * like a game client (and game.bots) the player resumes from the host's
 * position, here by walking on from that point of its path, later than
 * planned.
 */
function rewind(player, correction) {
  if (!correction || !(correction.seq > player.resyncSeq)) return; // older news
  const x = correction.x;
  const y = correction.y;
  const seq = player.seqAt.get(spotKey(x, y));
  let step = -1;
  if (seq !== undefined) step = player.sentStep[seq - 1];
  else if (Math.abs(x - player.path[0]) < 0.05 && Math.abs(y - player.path[1]) < 0.05) step = 0;
  if (step < 0) return; // not a point of the path: keep walking it
  player.resyncSeq = player.seq; // every move so far left from elsewhere
  player.step = step;
  player.x = player.path[2 * step];
  player.y = player.path[2 * step + 1];
  player.behind = Math.max(0, clockStep(player, performance.now()) - step);
  rewinds += 1;
}

function walk(t0, windowStart, windowEnd, sendLag) {
  const n = players.length;
  walkStart = t0;
  playerCount = n;
  // Sends spread evenly over the period, player by player.
  const nextDue = players.map((_, k) => t0 + (PERIOD_MS * k) / n);
  let k = 0;
  let stopped = false;

  function send(player, now) {
    if (!player.joined) return;
    // The path index follows the clock (from this player's own turn in the
    // period), so a late send never walks faster than the host's speed
    // budget allows.  Steps skipped by a late send go out together: only
    // consecutive path positions are sure to have a clear line between them.
    const target = Math.min(player.steps - 1, clockStep(player, now) - player.behind);
    if (target <= player.step) return;
    const first = Math.max(player.step + 1, target - MAX_CATCH_UP_STEPS + 1);
    let sentAt = player.step;
    for (let i = first; i <= target; i++) {
      const x = player.path[2 * i];
      const y = player.path[2 * i + 1];
      // At half the rate, leave out a step the straight line passes safely
      // (never two in a row).
      if (stride > 1 && i < target && sentAt === i - 1 && player.skip[i] === "1") continue;
      player.step = i;
      sentAt = i;
      // When this position was reached: now for the newest, one period
      // earlier for each step before it.
      const t = Math.max(player.lastT, Math.round(now - (target - i) * PERIOD_MS));
      if (x !== player.x || y !== player.y) sendMove(player, x, y, now, t);
    }
    player.step = target;
  }

  function sendMove(player, x, y, now, t) {
    let mask = 0;
    if (now >= windowStart && now <= windowEnd) {
      for (const o of observers) {
        if (o !== player && Math.abs(o.x - x) <= VIEW && Math.abs(o.y - y) <= VIEW) {
          mask |= 1 << o.observer;
        }
      }
    }
    player.seq += 1;
    player.lastT = t;
    const sentAt = performance.now();
    // The frame socket.emit("move", {seq, x, y}) would write (protocol.md,
    // appendix), handed straight to the WebSocket: going through Socket.IO's
    // and Engine.IO's emitters and buffers costs more than the rest of a send.
    player.ws.send(MOVE_TIME
      ? `42["move",{"seq":${player.seq},"x":${x},"y":${y},"t":${t}}]`
      : `42["move",{"seq":${player.seq},"x":${x},"y":${y}}]`);
    player.sentT.push(sentAt);
    player.sentMask.push(mask);
    player.sentStep.push(player.step);
    player.seqAt.set(spotKey(x, y), player.seq);
    player.seqAt.set(quarterKey(x, y), player.seq);
    player.x = x;
    player.y = y;
  }

  function run() {
    if (stopped) return;
    for (let budget = n; budget > 0; budget--) {
      const now = performance.now();
      const due = nextDue[k];
      if (due > now) break;
      // More than a period behind: skip the missed turn rather than burst.
      const period = PERIOD_MS * stride;
      nextDue[k] = now - due < period ? due + period : now + period;
      if (now >= windowStart && now <= windowEnd) sendLag.push(now - due);
      send(players[k], now);
      k = (k + 1) % n;
    }
    setTimeout(run, Math.max(0, nextDue[k] - performance.now()));
  }

  run();
  return () => {
    stopped = true;
  };
}

// -- talking ------------------------------------------------------------------------
/** The talkers (a seeded sample of plan.talk.fraction of the players) say a
 * line every plan.talk.every_s seconds, their turns spread over the interval. */
function talk(t0) {
  if (TALK === null) return { talkers: 0, stop: () => {} };
  const joined = players.filter((p) => p.joined);
  const random = mulberry32((plan.seed || 1) + 17);
  for (let i = joined.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [joined[i], joined[j]] = [joined[j], joined[i]];
  }
  const talkers = joined.slice(0, Math.round(TALK.fraction * joined.length));
  const every = TALK.every_s * 1000;
  const due = talkers.map((_, j) => t0 + (every * (j + 0.5)) / Math.max(1, talkers.length));
  let stopped = false;
  let turn = 0;
  function run() {
    if (stopped || talkers.length === 0) return;
    const now = performance.now();
    let next = Infinity;
    for (let j = 0; j < talkers.length; j++) {
      if (due[j] <= now) {
        const player = talkers[j];
        if (player.joined) {
          const text = LINES[turn++ % LINES.length];
          player.ws.send(`42["say",${JSON.stringify({ text })}]`);
          saidSent += 1;
        }
        due[j] += every;
      }
      next = Math.min(next, due[j]);
    }
    setTimeout(run, Math.max(0, next - performance.now()));
  }
  run();
  return { talkers: talkers.length, stop: () => { stopped = true; } };
}

function counters() {
  let snapshots = 0;
  let bytes = 0;
  let observerBytes = 0;
  let observerSnapshots = 0;
  let entries = 0;
  let heard = 0;
  for (const p of players) {
    snapshots += p.snapshots;
    bytes += p.bytes;
    heard += p.heard;
    if (p.observer >= 0) {
      observerBytes += p.bytes;
      observerSnapshots += p.snapshots;
      entries += p.entries;
    }
  }
  return { snapshots, bytes, observerBytes, observerSnapshots, entries, heard, said: saidSent };
}

async function sleepUntil(t) {
  for (;;) {
    const delay = t - performance.now();
    if (delay <= 0) return;
    await sleep(Math.min(delay, 500));
  }
}

// -- the run ------------------------------------------------------------------------
async function main() {
  const watchers = chooseWatchers(plan.observers);
  const joined = await joinEveryone();
  log(`joined ${joined}/${players.length}`);
  chooseObservers(watchers, plan.observers);
  const t0 = performance.now();
  const windowStart = t0 + plan.warmup_s * 1000;
  const windowEnd = windowStart + plan.seconds * 1000;
  const epoch = (t) => performance.timeOrigin + t;
  say({ window: { start_ms: epoch(windowStart), end_ms: epoch(windowEnd), joined } });
  const sendLag = [];
  const stop = walk(t0, windowStart, windowEnd, sendLag);
  const talking = talk(t0);

  await sleepUntil(windowStart);
  const cpu0 = process.cpuUsage();
  const at0 = performance.now();
  const counts0 = counters();
  await sleepUntil(windowEnd);
  const cpu1 = process.cpuUsage(cpu0);
  const at1 = performance.now();
  const counts1 = counters();
  await sleepUntil(windowEnd + DEADLINE_MS + 100);
  stop();
  talking.stop();

  const seconds = Math.max(1e-9, (at1 - at0) / 1000);
  const { latencies, across, expected, delivered } = tally(windowStart, windowEnd);
  sendLag.sort((a, b) => a - b);
  const sends = sendLag.length;
  const lagP99 = sends ? sendLag[sends - Math.max(1, Math.floor(sends / 100))] : null;
  const round = (v, digits = 1) => (v === null ? null : Number(v.toFixed(digits)));
  say({
    stats: {
      players: players.length,
      joined,
      observers: observers.length,
      p50_ms: round(percentile(latencies, 0.5)),
      p99_ms: round(percentile(latencies, 0.99)),
      max_ms: round(latencies.length ? latencies[latencies.length - 1] : null),
      expected,
      delivered,
      // moves seen by an observer on another process than the mover's
      across_pairs: across.length,
      across_p50_ms: round(percentile(across, 0.5)),
      across_p99_ms: round(percentile(across, 0.99)),
      processes: URLS.length,
      snapshots_per_s: (counts1.snapshots - counts0.snapshots) / seconds,
      bytes_per_s: (counts1.bytes - counts0.bytes) / seconds,
      // everything an observer received, per mover listed in its snapshots
      bytes_per_mover: counts1.entries > counts0.entries
        ? round((counts1.observerBytes - counts0.observerBytes) / (counts1.entries - counts0.entries), 2)
        : null,
      movers_per_snapshot: counts1.observerSnapshots > counts0.observerSnapshots
        ? round((counts1.entries - counts0.entries) / (counts1.observerSnapshots - counts0.observerSnapshots))
        : null,
      undecoded,
      // deltas of movers an observer's table did not hold (see chooseWatchers)
      unreadable: observers.reduce((sum, o) => sum + (o.book ? o.book.unknown : 0), 0),
      cpu_pct: (100 * (cpu1.user + cpu1.system)) / 1000 / (at1 - at0),
      cpu_system_pct: (100 * cpu1.system) / 1000 / (at1 - at0),
      send_lag_p99_ms: round(lagP99, 2),
      sends,
      corrections,
      errors,
      disconnects,
      start_mismatch: startMismatch,
      rewinds,
      login_failures: loginFailures,
      paces: paces.map(([at, rate, overloaded]) => ({
        at_s: Number(((at - windowStart) / 1000).toFixed(2)), tick_rate: rate, overloaded })),
      talkers: talking.talkers,
      said_per_s: (counts1.said - counts0.said) / seconds,
      heard_per_s: (counts1.heard - counts0.heard) / seconds,
    },
  });

  closing = true;
  for (const p of players) if (p.socket) p.socket.disconnect();
  await sleep(500); // let the close frames go out
  process.exit(0);
}

main().catch((err) => {
  log(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
