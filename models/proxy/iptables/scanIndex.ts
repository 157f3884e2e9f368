/**
 * An index over one of kube-proxy's long, linearly scanned chains (nat KUBE-SERVICES and
 * KUBE-NODEPORTS; filter KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-PROXY-FIREWALL and
 * KUBE-NODEPORTS) that answers, in time independent of the chain's length, what the kernel's
 * linear scan would: the first rule at or after a position that matches a packet, and the exact
 * number of rules and matches tried on the way (as the interpreter counts them).
 *
 * Every rule in these chains has one of six shapes (the comment module aside). Its cost for a
 * packet depends only on whether the destination equals its address, whether the protocol
 * equals, whether the port equals, and whether the destination is LOCAL or loopback. Prefix
 * counts per shape and protocol give the cost of all rules the packet does not share an address
 * or port with; the few rules that share the destination address are corrected one by one.
 */

/** `-d D -p P --dport N`: Service IP rules. */
export const K_EXACT = 0;
/** `-p P --dport N`: NodePort (nat) and health-check (filter) rules. */
export const K_PORT = 1;
/** `-p P -m addrtype --dst-type LOCAL --dport N`: NodePort REJECT/DROP rules. */
export const K_LOCAL_PORT = 2;
/** `-d 127.0.0.0/8 -p P --dport N -m nfacct`: localhost NodePort rules. */
export const K_LOOPBACK_PORT = 3;
/** `-m addrtype --dst-type LOCAL`: the jump to KUBE-NODEPORTS. */
export const K_LOCAL_DST = 4;
/** `! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL`: the same without localhost NodePorts. */
export const K_LOCAL_DST_NOT_LOOPBACK = 5;

const KINDS = 6;
/** Matches tried by a rule of each shape that matches. */
const MATCH_COST = [3, 2, 3, 4, 1, 2];

export interface ScanResult {
  rules: number;
  matches: number;
  /** The matching rule's target (set when scan() returns a position). */
  target: number;
}

export class ScanChainBuilder {
  readonly kinds: number[] = [];
  readonly dsts: number[] = [];
  readonly protos: number[] = [];
  readonly ports: number[] = [];
  readonly targets: number[] = [];

  add(kind: number, dst: number, proto: number, port: number, target: number): void {
    this.kinds.push(kind);
    this.dsts.push(dst);
    this.protos.push(proto);
    this.ports.push(port);
    this.targets.push(target);
  }

  get length(): number {
    return this.kinds.length;
  }

  build(): ScanIndex {
    return new ScanIndex(this);
  }
}

function portKey(proto: number, port: number): number {
  return proto * 65536 + port;
}

function pushTo(map: Map<number, number[]>, key: number, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** First element >= from in an ascending list, or `none`. */
function firstAtLeast(list: number[] | undefined, from: number, none: number): number {
  if (list === undefined) return none;
  const n = list.length;
  if (n === 0 || list[n - 1] < from) return none;
  if (list[0] >= from) return list[0];
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid] >= from) hi = mid;
    else lo = mid + 1;
  }
  return list[lo];
}

const PER_PROTO = [false, true, true, true, false, false];

/**
 * The layout is chosen for the cache: a packet touches one slot of the destination hash table,
 * one 16-byte record per rule it looks at, and one row of prefix counts, whatever the chain's
 * length (a 30k-Service KUBE-SERVICES is too big to stay in cache).
 */
export class ScanIndex {
  readonly length: number;
  /** Per rule: kind, target, protocol, port. */
  private readonly rec: Int32Array;
  /**
   * Open-addressing table of K_EXACT destinations, 4 int32 per slot: address, first rule with
   * it (-1 = empty slot), that rule's protocol << 16 | port, and its target. The usual packet
   * is decided by this slot alone.
   */
  private readonly table: Int32Array;
  private readonly mask: number;
  private readonly shift: number;
  /** The next K_EXACT rule with the same destination, or -1. */
  private readonly nextSameDst: Int32Array;
  /** Rule positions by protocol and port, per port-matching shape. */
  private readonly byPort: (Map<number, number[]> | null)[] = [];
  /** Positions of K_LOCAL_DST and K_LOCAL_DST_NOT_LOOPBACK rules. */
  private readonly localDst: number[][] = [[], []];
  /** prefix[i * stride + counter]: rules counted by `counter` before position i. */
  private readonly prefix: Int32Array;
  private readonly stride: number;
  /** Counter of each shape (-1: absent), and of each shape and protocol (shape base + proto - 1). */
  private readonly counter: Int32Array;
  private readonly counterProto: Int32Array;
  /** Position of the first rule that is not K_EXACT (rules before it need no prefix counts). */
  private readonly exactOnlyBefore: number;

  constructor(b: ScanChainBuilder) {
    const n = b.kinds.length;
    this.length = n;
    this.rec = new Int32Array(n * 4);
    const present = new Array<boolean>(KINDS).fill(false);
    for (let i = 0; i < n; i++) {
      present[b.kinds[i]] = true;
      this.rec[i * 4] = b.kinds[i];
      this.rec[i * 4 + 1] = b.targets[i];
      this.rec[i * 4 + 2] = b.protos[i];
      this.rec[i * 4 + 3] = b.ports[i];
    }
    this.counter = new Int32Array(KINDS).fill(-1);
    this.counterProto = new Int32Array(KINDS).fill(-1);
    let stride = 0;
    for (let k = 0; k < KINDS; k++) {
      if (!present[k]) {
        this.byPort.push(null);
        continue;
      }
      this.counter[k] = stride++;
      if (PER_PROTO[k]) {
        this.counterProto[k] = stride;
        stride += 3;
      }
      this.byPort.push(PER_PROTO[k] ? new Map() : null);
    }
    this.stride = stride;
    let firstOther = 0;
    while (firstOther < n && b.kinds[firstOther] === K_EXACT) firstOther++;
    this.exactOnlyBefore = firstOther;
    this.prefix = new Int32Array((n + 1) * stride);
    for (let i = 0; i < n; i++) {
      const row = i * stride;
      for (let j = 0; j < stride; j++) this.prefix[row + stride + j] = this.prefix[row + j];
      const k = b.kinds[i];
      this.prefix[row + stride + this.counter[k]]++;
      if (PER_PROTO[k]) this.prefix[row + stride + this.counterProto[k] + b.protos[i] - 1]++;
    }

    // Destinations: each address's rules linked in ascending order.
    let exact = 0;
    for (let i = 0; i < n; i++) if (b.kinds[i] === K_EXACT) exact++;
    let cap = 16;
    let bits = 4;
    while (cap < exact * 2) {
      cap *= 2;
      bits++;
    }
    this.mask = cap - 1;
    this.shift = 32 - bits;
    this.table = new Int32Array(cap * 4).fill(-1);
    this.nextSameDst = new Int32Array(n).fill(-1);
    const last = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const k = b.kinds[i];
      if (k === K_EXACT) {
        const dst = b.dsts[i] | 0;
        const previous = last.get(dst);
        if (previous === undefined) {
          let slot = this.slotOf(dst);
          while (this.table[slot * 4 + 1] !== -1) slot = (slot + 1) & this.mask;
          this.table[slot * 4] = dst;
          this.table[slot * 4 + 1] = i;
          this.table[slot * 4 + 2] = (b.protos[i] << 16) | b.ports[i];
          this.table[slot * 4 + 3] = b.targets[i];
        } else this.nextSameDst[previous] = i;
        last.set(dst, i);
      } else if (k === K_LOCAL_DST) this.localDst[0].push(i);
      else if (k === K_LOCAL_DST_NOT_LOOPBACK) this.localDst[1].push(i);
      else pushTo(this.byPort[k] as Map<number, number[]>, portKey(b.protos[i], b.ports[i]), i);
    }
  }

  private slotOf(dst: number): number {
    return Math.imul(dst, 0x9e3779b1) >>> this.shift;
  }

  /** The table slot of destination `dst`, or -1. */
  private slotWithDst(dst: number): number {
    let slot = this.slotOf(dst);
    for (;;) {
      if (this.table[slot * 4 + 1] === -1) return -1;
      if (this.table[slot * 4] === dst) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  /** The target of rule i. */
  target(i: number): number {
    return this.rec[i * 4 + 1];
  }

  /**
   * Scans from position `from` for the first rule matching a packet to dst:port/proto.
   * Adds the rules and matches tried (including the matching rule's) to `out`; returns the
   * rule's position, or -1 when the scan falls off the end of the chain.
   */
  scan(dst: number, proto: number, port: number, dstLocal: boolean, dstLoopback: boolean, from: number, out: ScanResult): number {
    const n = this.length;
    if (from >= n) return -1;
    const rec = this.rec;
    let best = n;
    let bestTarget = 0;
    const slot = this.counter[K_EXACT] < 0 ? -1 : this.slotWithDst(dst | 0);
    const firstSameDst = slot < 0 ? -1 : this.table[slot * 4 + 1];
    if (firstSameDst >= from && this.table[slot * 4 + 2] === ((proto << 16) | port)) {
      best = firstSameDst;
      bestTarget = this.table[slot * 4 + 3];
    } else {
      for (let i = firstSameDst; i >= 0; i = this.nextSameDst[i]) {
        if (i < from) continue;
        if (rec[i * 4 + 2] === proto && rec[i * 4 + 3] === port) {
          best = i;
          bestTarget = rec[i * 4 + 1];
          break;
        }
      }
    }
    const exactBest = best;
    const key = portKey(proto, port);
    let m = this.byPort[K_PORT];
    if (m !== null) best = Math.min(best, firstAtLeast(m.get(key), from, n));
    if (dstLocal) {
      m = this.byPort[K_LOCAL_PORT];
      if (m !== null) best = Math.min(best, firstAtLeast(m.get(key), from, n));
      best = Math.min(best, firstAtLeast(this.localDst[0], from, n));
      if (!dstLoopback) best = Math.min(best, firstAtLeast(this.localDst[1], from, n));
    }
    if (dstLoopback) {
      m = this.byPort[K_LOOPBACK_PORT];
      if (m !== null) best = Math.min(best, firstAtLeast(m.get(key), from, n));
    }

    // Rules in [from, best) all failed; count what they tried.
    const stride = this.stride;
    const p = this.prefix;
    const hi = best * stride;
    const lo = from * stride;
    const c = this.counter;
    const cp = this.counterProto;
    const pr = proto - 1;
    let matches = 0;
    if (best <= this.exactOnlyBefore) {
      // Only K_EXACT rules skipped (the usual KUBE-SERVICES case): no prefix row to read.
      matches = best - from;
      for (let i = firstSameDst; i >= 0 && i < best; i = this.nextSameDst[i]) {
        if (i >= from) matches += rec[i * 4 + 2] === proto ? 2 : 1;
      }
    } else {
      if (c[K_EXACT] >= 0) {
        matches += p[hi + c[K_EXACT]] - p[lo + c[K_EXACT]];
        for (let i = firstSameDst; i >= 0 && i < best; i = this.nextSameDst[i]) {
          // Same destination: the protocol was tried too, and the port if the protocol matched.
          if (i >= from) matches += rec[i * 4 + 2] === proto ? 2 : 1;
        }
      }
      if (c[K_PORT] >= 0) {
        matches += p[hi + c[K_PORT]] - p[lo + c[K_PORT]] + (p[hi + cp[K_PORT] + pr] - p[lo + cp[K_PORT] + pr]);
      }
      if (c[K_LOCAL_PORT] >= 0) {
        const sameProto = p[hi + cp[K_LOCAL_PORT] + pr] - p[lo + cp[K_LOCAL_PORT] + pr];
        matches += p[hi + c[K_LOCAL_PORT]] - p[lo + c[K_LOCAL_PORT]] + sameProto + (dstLocal ? sameProto : 0);
      }
      if (c[K_LOOPBACK_PORT] >= 0) {
        const all = p[hi + c[K_LOOPBACK_PORT]] - p[lo + c[K_LOOPBACK_PORT]];
        matches += all + (dstLoopback ? all + (p[hi + cp[K_LOOPBACK_PORT] + pr] - p[lo + cp[K_LOOPBACK_PORT] + pr]) : 0);
      }
      if (c[K_LOCAL_DST] >= 0) matches += p[hi + c[K_LOCAL_DST]] - p[lo + c[K_LOCAL_DST]];
      if (c[K_LOCAL_DST_NOT_LOOPBACK] >= 0) {
        const all = p[hi + c[K_LOCAL_DST_NOT_LOOPBACK]] - p[lo + c[K_LOCAL_DST_NOT_LOOPBACK]];
        matches += all + (dstLoopback ? 0 : all);
      }
    }

    if (best < n) {
      out.rules += best - from + 1;
      if (best === exactBest) {
        out.matches += matches + MATCH_COST[K_EXACT];
        out.target = bestTarget;
      } else {
        out.matches += matches + MATCH_COST[rec[best * 4]];
        out.target = rec[best * 4 + 1];
      }
      return best;
    }
    out.rules += n - from;
    out.matches += matches;
    return -1;
  }
}
