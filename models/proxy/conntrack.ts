/**
 * A node's connection-tracking table (netfilter conntrack), as far as Services care.
 *
 * The first packet of a connection goes through kube-proxy's rules (DNAT to an endpoint) and
 * creates an entry; every later packet of the connection finds the entry and follows it, to the
 * same endpoint, whatever the rules say now. So an entry that points at an endpoint that has
 * since gone keeps sending that flow there until the entry expires: for UDP, whose entries are
 * refreshed by every packet, that is the classic black hole after a DNS pod restarts.
 *
 * What is modelled:
 * - entries keyed by whatever identifies a connection to the caller (a 5-tuple string or a
 *   connection number), each with a state whose timeout is refreshed by every packet, as the
 *   kernel does (TCP established 24 h as kube-proxy sets it, close-wait 1 h, time-wait 2 min;
 *   UDP 30 s, or 120 s once it is a stream);
 * - a maximum size, by default kube-proxy's `max(conntrack.min, maxPerCore × cores)`; when the
 *   table is full a new connection first evicts the oldest not-yet-assured entry (the kernel's
 *   early drop: SYN_SENT and unreplied/replied-but-not-stream UDP), and if there is none it is
 *   dropped ("nf_conntrack: table full, dropping packet"), and counted;
 * - lazy expiry: no event per entry. Each state has its own timeout, so within one state entries
 *   expire in the order they were last refreshed: a FIFO queue per state holds (key, expiry)
 *   records, and every operation first pops the records that are due. A refresh appends a new
 *   record and leaves the old one to be skipped as stale; stale records are compacted away when
 *   they outnumber the live entries, so memory stays proportional to the table;
 * - occupancy over time: exact time-weighted mean (an entry that expired between two touches
 *   is counted only until its expiry time), peak, and counters.
 *
 * Time is in integer nanoseconds (sim/time.ts); every method takes the current time, and time
 * must not go backwards.
 */
import { NS_PER_S } from "../../sim/time.js";
import type { Nanos } from "../../sim/time.js";

export type ConntrackState =
  | "TCP_SYN_SENT"
  | "TCP_ESTABLISHED"
  | "TCP_FIN_WAIT"
  | "TCP_CLOSE_WAIT"
  | "TCP_TIME_WAIT"
  | "TCP_CLOSE"
  | "UDP_UNREPLIED"
  | "UDP_REPLIED"
  | "UDP_STREAM"
  | "SCTP_ESTABLISHED";

export const CONNTRACK_STATES: readonly ConntrackState[] = [
  "TCP_SYN_SENT",
  "TCP_ESTABLISHED",
  "TCP_FIN_WAIT",
  "TCP_CLOSE_WAIT",
  "TCP_TIME_WAIT",
  "TCP_CLOSE",
  "UDP_UNREPLIED",
  "UDP_REPLIED",
  "UDP_STREAM",
  "SCTP_ESTABLISHED",
];

/**
 * Default timeouts: the kernel's nf_conntrack sysctls, except where kube-proxy sets them
 * (--conntrack-tcp-timeout-established 24h, --conntrack-tcp-timeout-close-wait 1h; kube-proxy
 * leaves the UDP ones alone by default).
 */
export const DEFAULT_CONNTRACK_TIMEOUTS: Readonly<Record<ConntrackState, Nanos>> = {
  TCP_SYN_SENT: 120 * NS_PER_S, // nf_conntrack_tcp_timeout_syn_sent
  TCP_ESTABLISHED: 86_400 * NS_PER_S, // kube-proxy conntrack.tcpEstablishedTimeout (kernel: 5 days)
  TCP_FIN_WAIT: 120 * NS_PER_S, // nf_conntrack_tcp_timeout_fin_wait
  TCP_CLOSE_WAIT: 3_600 * NS_PER_S, // kube-proxy conntrack.tcpCloseWaitTimeout (kernel: 60 s)
  TCP_TIME_WAIT: 120 * NS_PER_S, // nf_conntrack_tcp_timeout_time_wait
  TCP_CLOSE: 10 * NS_PER_S, // nf_conntrack_tcp_timeout_close
  UDP_UNREPLIED: 30 * NS_PER_S, // nf_conntrack_udp_timeout
  UDP_REPLIED: 30 * NS_PER_S, // nf_conntrack_udp_timeout (a reply seen, not yet a stream)
  UDP_STREAM: 120 * NS_PER_S, // nf_conntrack_udp_timeout_stream (kernel >= 5.0; 180 s before)
  SCTP_ESTABLISHED: 210 * NS_PER_S, // nf_conntrack_sctp_timeout_established
};

/** States whose entries the kernel may evict to make room (not ASSURED). */
const EVICTABLE: ReadonlySet<ConntrackState> = new Set<ConntrackState>(["TCP_SYN_SENT", "UDP_UNREPLIED", "UDP_REPLIED"]);

/** kube-proxy's defaults: --conntrack-max-per-core 32768, --conntrack-min 131072. */
export const KUBE_PROXY_CONNTRACK_MAX_PER_CORE = 32_768;
export const KUBE_PROXY_CONNTRACK_MIN = 131_072;

/** The table size kube-proxy sets: max(min, maxPerCore × cores); maxPerCore 0 leaves the kernel's value (not modelled: min is used). */
export function conntrackMax(cores: number, maxPerCore = KUBE_PROXY_CONNTRACK_MAX_PER_CORE, min = KUBE_PROXY_CONNTRACK_MIN): number {
  if (!(cores >= 1) || !Number.isInteger(cores)) throw new RangeError(`conntrackMax: cores must be a positive integer, got ${cores}`);
  return Math.max(min, maxPerCore * cores);
}

export type ConnKey = string | number;

export interface ConntrackOptions {
  /** The table maximum (nf_conntrack_max). Default: conntrackMax(cores, maxPerCore, min). */
  maxEntries?: number;
  /** CPU cores of the node, for the default maximum. Default 2. */
  cores?: number;
  maxPerCore?: number;
  min?: number;
  /** Per-state timeouts overriding DEFAULT_CONNTRACK_TIMEOUTS (ns). */
  timeouts?: Partial<Record<ConntrackState, Nanos>>;
  /** Evict the oldest not-assured entry when full, as the kernel does (default true). */
  earlyDrop?: boolean;
}

/** What the table knows of one connection. */
export interface ConntrackEntry {
  readonly key: ConnKey;
  readonly state: ConntrackState;
  /** Where the connection was DNATed ("10.244.1.5:8080"), or undefined if not NATed. */
  readonly endpoint: string | undefined;
  readonly createdAt: Nanos;
  readonly expiresAt: Nanos;
}

export type InsertResult = "inserted" | "exists" | "dropped";

export interface ConntrackStats {
  /** Entries now. */
  entries: number;
  maxEntries: number;
  /** Most entries at once. */
  peak: number;
  /** Time-weighted mean number of entries since the table was created. */
  meanEntries: number;
  /** Time-weighted mean of entries / maxEntries. */
  meanOccupancy: number;
  inserts: number;
  /** New connections refused because the table was full. */
  drops: number;
  /** Entries evicted to make room (kernel early drop). */
  earlyDrops: number;
  /** Entries removed because their timeout passed. */
  expired: number;
  /** Entries removed by delete()/deleteEntriesTo() (kube-proxy's conntrack cleanup, a closed connection). */
  deleted: number;
  /** Lookups, and how many found an entry. */
  lookups: number;
  hits: number;
}

interface Entry {
  state: number; // index in CONNTRACK_STATES
  endpoint: string | undefined;
  createdAt: Nanos;
  expiresAt: Nanos;
}

/** A FIFO of (key, expiry) records for one state; expiries are non-decreasing. */
class ExpiryQueue {
  keys: ConnKey[] = [];
  times: number[] = [];
  head = 0;

  get length(): number {
    return this.keys.length - this.head;
  }

  push(key: ConnKey, time: number): void {
    this.keys.push(key);
    this.times.push(time);
  }

  /** Drops the consumed prefix once it is large, so arrays do not grow without bound. */
  trim(): void {
    if (this.head > 1024 && this.head * 2 > this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}

export class ConntrackTable {
  readonly maxEntries: number;
  private readonly timeouts: Float64Array;
  private readonly earlyDrop: boolean;
  private readonly entries = new Map<ConnKey, Entry>();
  private readonly queues: ExpiryQueue[];
  /** Total records across queues (live + stale), to decide on compaction. */
  private records = 0;
  private readonly perEndpoint = new Map<string, number>();

  private lastTime: Nanos;
  private readonly startTime: Nanos;
  /** ∫ entries dt since startTime (entry·ns). */
  private area = 0;
  private peak = 0;
  private counters = { inserts: 0, drops: 0, earlyDrops: 0, expired: 0, deleted: 0, lookups: 0, hits: 0 };

  constructor(options: ConntrackOptions = {}, now: Nanos = 0) {
    const max = options.maxEntries ?? conntrackMax(options.cores ?? 2, options.maxPerCore, options.min);
    if (!(max >= 1) || !Number.isInteger(max)) throw new RangeError(`ConntrackTable: maxEntries must be a positive integer, got ${max}`);
    this.maxEntries = max;
    this.timeouts = new Float64Array(CONNTRACK_STATES.length);
    CONNTRACK_STATES.forEach((s, i) => {
      const t = options.timeouts?.[s] ?? DEFAULT_CONNTRACK_TIMEOUTS[s];
      if (!(t > 0) || !Number.isFinite(t)) throw new RangeError(`ConntrackTable: timeout of ${s} must be positive, got ${t}`);
      this.timeouts[i] = t;
    });
    this.earlyDrop = options.earlyDrop ?? true;
    this.queues = CONNTRACK_STATES.map(() => new ExpiryQueue());
    this.lastTime = now;
    this.startTime = now;
  }

  /** The timeout of a state in this table (ns). */
  timeoutOf(state: ConntrackState): Nanos {
    return this.timeouts[stateIndex(state)];
  }

  /** Entries now (after expiring those due). */
  size(now: Nanos): number {
    this.advance(now);
    return this.entries.size;
  }

  /**
   * Finds the entry of a connection without touching it (a first packet looks up before it
   * evaluates the rules). Counts a lookup and, if found, a hit.
   */
  lookup(key: ConnKey, now: Nanos): ConntrackEntry | undefined {
    this.advance(now);
    this.counters.lookups++;
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.counters.hits++;
    return view(key, e);
  }

  /**
   * A later packet of a tracked connection: if the entry exists, its timeout restarts and the
   * endpoint it was NATed to is returned (the packet goes there, whatever the rules say now).
   * Undefined if the connection is not (or no longer) tracked.
   */
  packet(key: ConnKey, now: Nanos): ConntrackEntry | undefined {
    this.advance(now);
    this.counters.lookups++;
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.counters.hits++;
    this.refresh(key, e, e.state, now);
    return view(key, e);
  }

  /**
   * Tracks a new connection (its first packet went through the rules to `endpoint`). When the
   * table is full, the oldest not-assured entry is evicted if early drop is on and there is one;
   * otherwise the connection is dropped and counted. An existing key is left as it is.
   */
  insert(key: ConnKey, now: Nanos, state: ConntrackState, endpoint?: string): InsertResult {
    this.advance(now);
    if (this.entries.has(key)) return "exists";
    if (this.entries.size >= this.maxEntries) {
      if (!(this.earlyDrop && this.evictOldestUnassured())) {
        this.counters.drops++;
        return "dropped";
      }
      this.counters.earlyDrops++;
    }
    const s = stateIndex(state);
    const e: Entry = { state: s, endpoint, createdAt: now, expiresAt: now + this.timeouts[s] };
    this.entries.set(key, e);
    this.queues[s].push(key, e.expiresAt);
    this.records++;
    if (endpoint !== undefined) this.perEndpoint.set(endpoint, (this.perEndpoint.get(endpoint) ?? 0) + 1);
    this.counters.inserts++;
    if (this.entries.size > this.peak) this.peak = this.entries.size;
    this.maybeCompact();
    return "inserted";
  }

  /** Moves a connection to another state (handshake done, FIN seen, a UDP reply...); restarts its timeout. */
  setState(key: ConnKey, now: Nanos, state: ConntrackState): boolean {
    this.advance(now);
    const e = this.entries.get(key);
    if (e === undefined) return false;
    this.refresh(key, e, stateIndex(state), now);
    return true;
  }

  /** Removes one entry now (conntrack -D). */
  delete(key: ConnKey, now: Nanos): boolean {
    this.advance(now);
    const e = this.entries.get(key);
    if (e === undefined) return false;
    this.remove(key, e);
    this.counters.deleted++;
    return true;
  }

  /** Live entries whose connection was NATed to `endpoint` ("ip:port"). O(1). */
  entriesTo(endpoint: string, now: Nanos): number {
    this.advance(now);
    return this.perEndpoint.get(endpoint) ?? 0;
  }

  /**
   * Deletes the entries NATed to `endpoint`, optionally only those of one protocol: what
   * kube-proxy does for UDP Services when an endpoint goes away. Scans the table: O(entries).
   */
  deleteEntriesTo(endpoint: string, now: Nanos, protocol?: "TCP" | "UDP" | "SCTP"): number {
    this.advance(now);
    if ((this.perEndpoint.get(endpoint) ?? 0) === 0) return 0;
    let n = 0;
    for (const [key, e] of this.entries) {
      if (e.endpoint !== endpoint) continue;
      if (protocol !== undefined && !CONNTRACK_STATES[e.state].startsWith(protocol)) continue;
      this.remove(key, e);
      n++;
    }
    this.counters.deleted += n;
    return n;
  }

  /** Occupancy and counters up to `now`. */
  stats(now: Nanos): ConntrackStats {
    this.advance(now);
    const span = now - this.startTime;
    const meanEntries = span > 0 ? this.area / span : this.entries.size;
    return {
      entries: this.entries.size,
      maxEntries: this.maxEntries,
      peak: this.peak,
      meanEntries,
      meanOccupancy: meanEntries / this.maxEntries,
      ...this.counters,
    };
  }

  /** Expires what is due at `now` and accounts occupancy up to it. */
  private advance(now: Nanos): void {
    if (now < this.lastTime) {
      throw new RangeError(`ConntrackTable: time went backwards (${now} ns < ${this.lastTime} ns)`);
    }
    const prev = this.lastTime;
    if (now > prev) {
      // Count every entry present until now, then give back the time after each expiry.
      this.area += this.entries.size * (now - prev);
      this.lastTime = now;
    }
    for (let s = 0; s < this.queues.length; s++) {
      const q = this.queues[s];
      while (q.head < q.keys.length && q.times[q.head] <= now) {
        const key = q.keys[q.head];
        const t = q.times[q.head];
        q.head++;
        this.records--;
        const e = this.entries.get(key);
        if (e === undefined || e.state !== s || e.expiresAt !== t) continue; // stale record
        this.remove(key, e);
        this.counters.expired++;
        // It left at t, not at now: take back the part of (prev, now] after its expiry.
        this.area -= now - Math.max(t, prev);
      }
      q.trim();
    }
  }

  private refresh(key: ConnKey, e: Entry, state: number, now: Nanos): void {
    const expiresAt = now + this.timeouts[state];
    if (state === e.state && expiresAt === e.expiresAt) return;
    e.state = state;
    e.expiresAt = expiresAt;
    this.queues[state].push(key, expiresAt);
    this.records++;
    this.maybeCompact();
  }

  private remove(key: ConnKey, e: Entry): void {
    this.entries.delete(key);
    if (e.endpoint !== undefined) {
      const n = (this.perEndpoint.get(e.endpoint) ?? 1) - 1;
      if (n > 0) this.perEndpoint.set(e.endpoint, n);
      else this.perEndpoint.delete(e.endpoint);
    }
  }

  /** Evicts the oldest live entry among the not-assured states; false if there is none. */
  private evictOldestUnassured(): boolean {
    let best = -1;
    let bestTime = Infinity;
    for (let s = 0; s < this.queues.length; s++) {
      if (!EVICTABLE.has(CONNTRACK_STATES[s])) continue;
      const q = this.queues[s];
      // Skip stale records at the head so the head is a live entry.
      while (q.head < q.keys.length) {
        const e = this.entries.get(q.keys[q.head]);
        if (e !== undefined && e.state === s && e.expiresAt === q.times[q.head]) break;
        q.head++;
        this.records--;
      }
      if (q.head < q.keys.length && q.times[q.head] - this.timeouts[s] < bestTime) {
        // Oldest by last refresh: expiry minus the state's timeout.
        bestTime = q.times[q.head] - this.timeouts[s];
        best = s;
      }
    }
    if (best < 0) return false;
    const q = this.queues[best];
    const key = q.keys[q.head];
    q.head++;
    this.records--;
    const e = this.entries.get(key);
    if (e !== undefined) this.remove(key, e);
    return true;
  }

  /** Rebuilds the queues without stale records once those outnumber the live entries. */
  private maybeCompact(): void {
    if (this.records < 1024 || this.records <= 2 * this.entries.size) return;
    let total = 0;
    for (let s = 0; s < this.queues.length; s++) {
      const q = this.queues[s];
      const keys: ConnKey[] = [];
      const times: number[] = [];
      for (let i = q.head; i < q.keys.length; i++) {
        const e = this.entries.get(q.keys[i]);
        if (e !== undefined && e.state === s && e.expiresAt === q.times[i]) {
          keys.push(q.keys[i]);
          times.push(q.times[i]);
        }
      }
      q.keys = keys;
      q.times = times;
      q.head = 0;
      total += keys.length;
    }
    this.records = total;
  }

  /** Records held in the expiry queues (live and stale): for tests of bounded memory. */
  get queuedRecords(): number {
    return this.records;
  }
}

function stateIndex(state: ConntrackState): number {
  const i = CONNTRACK_STATES.indexOf(state);
  if (i < 0) throw new RangeError(`ConntrackTable: unknown state ${String(state)}`);
  return i;
}

function view(key: ConnKey, e: Entry): ConntrackEntry {
  return { key, state: CONNTRACK_STATES[e.state], endpoint: e.endpoint, createdAt: e.createdAt, expiresAt: e.expiresAt };
}
