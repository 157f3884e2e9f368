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

export class ScanIndex {
  readonly length: number;
  readonly kinds: Uint8Array;
  readonly protos: Uint8Array;
  readonly ports: Int32Array;
  readonly targets: Int32Array;
  /** Rule positions by destination address (K_EXACT rules). */
  private readonly byDst = new Map<number, number[]>();
  /** Rule positions by protocol and port, per port-matching shape. */
  private readonly byPort: (Map<number, number[]> | null)[] = [];
  /** Positions of K_LOCAL_DST and K_LOCAL_DST_NOT_LOOPBACK rules. */
  private readonly localDst: number[][] = [[], []];
  /** prefix[kind][i]: rules of that shape before position i; null when the shape is absent. */
  private readonly prefix: (Int32Array | null)[] = [];
  /** prefixProto[kind][proto][i]: rules of that shape and protocol before position i. */
  private readonly prefixProto: (Int32Array[] | null)[] = [];

  constructor(b: ScanChainBuilder) {
    const n = b.kinds.length;
    this.length = n;
    this.kinds = Uint8Array.from(b.kinds);
    this.protos = Uint8Array.from(b.protos);
    this.ports = Int32Array.from(b.ports);
    this.targets = Int32Array.from(b.targets);
    const present = new Array<boolean>(KINDS).fill(false);
    for (let i = 0; i < n; i++) present[b.kinds[i]] = true;
    for (let k = 0; k < KINDS; k++) {
      this.prefix.push(present[k] ? new Int32Array(n + 1) : null);
      const perProto = k === K_PORT || k === K_LOCAL_PORT || k === K_LOOPBACK_PORT;
      this.prefixProto.push(present[k] && perProto ? [0, 1, 2, 3].map(() => new Int32Array(n + 1)) : null);
      this.byPort.push(present[k] && perProto ? new Map() : null);
    }
    for (let i = 0; i < n; i++) {
      const k = b.kinds[i];
      for (let kk = 0; kk < KINDS; kk++) {
        const p = this.prefix[kk];
        if (p !== null) p[i + 1] = p[i] + (kk === k ? 1 : 0);
        const pp = this.prefixProto[kk];
        if (pp !== null) {
          for (let proto = 1; proto <= 3; proto++) pp[proto][i + 1] = pp[proto][i] + (kk === k && b.protos[i] === proto ? 1 : 0);
        }
      }
      if (k === K_EXACT) pushTo(this.byDst, b.dsts[i] >>> 0, i);
      else if (k === K_LOCAL_DST) this.localDst[0].push(i);
      else if (k === K_LOCAL_DST_NOT_LOOPBACK) this.localDst[1].push(i);
      else pushTo(this.byPort[k] as Map<number, number[]>, portKey(b.protos[i], b.ports[i]), i);
    }
  }

  /**
   * Scans from position `from` for the first rule matching a packet to dst:port/proto.
   * Adds the rules and matches tried (including the matching rule's) to `out`; returns the
   * rule's position, or -1 when the scan falls off the end of the chain.
   */
  scan(dst: number, proto: number, port: number, dstLocal: boolean, dstLoopback: boolean, from: number, out: ScanResult): number {
    const n = this.length;
    if (from >= n) return -1;
    let best = n;
    const sameDst = this.byDst.get(dst);
    if (sameDst !== undefined) {
      for (let j = 0; j < sameDst.length; j++) {
        const i = sameDst[j];
        if (i < from) continue;
        if (i >= best) break;
        if (this.protos[i] === proto && this.ports[i] === port) {
          best = i;
          break;
        }
      }
    }
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
    let matches = 0;
    let p = this.prefix[K_EXACT];
    if (p !== null) {
      matches += p[best] - p[from];
      if (sameDst !== undefined) {
        for (let j = 0; j < sameDst.length; j++) {
          const i = sameDst[j];
          if (i < from) continue;
          if (i >= best) break;
          // Same destination: the protocol was tried too, and the port if the protocol matched.
          matches += this.protos[i] === proto ? 2 : 1;
        }
      }
    }
    p = this.prefix[K_PORT];
    if (p !== null) {
      const pp = (this.prefixProto[K_PORT] as Int32Array[])[proto];
      matches += p[best] - p[from] + (pp[best] - pp[from]);
    }
    p = this.prefix[K_LOCAL_PORT];
    if (p !== null) {
      const pp = (this.prefixProto[K_LOCAL_PORT] as Int32Array[])[proto];
      const sameProto = pp[best] - pp[from];
      matches += p[best] - p[from] + sameProto + (dstLocal ? sameProto : 0);
    }
    p = this.prefix[K_LOOPBACK_PORT];
    if (p !== null) {
      const c = p[best] - p[from];
      const pp = (this.prefixProto[K_LOOPBACK_PORT] as Int32Array[])[proto];
      matches += c + (dstLoopback ? c + (pp[best] - pp[from]) : 0);
    }
    p = this.prefix[K_LOCAL_DST];
    if (p !== null) matches += p[best] - p[from];
    p = this.prefix[K_LOCAL_DST_NOT_LOOPBACK];
    if (p !== null) {
      const c = p[best] - p[from];
      matches += c + (dstLoopback ? 0 : c);
    }

    if (best < n) {
      out.rules += best - from + 1;
      out.matches += matches + MATCH_COST[this.kinds[best]];
      return best;
    }
    out.rules += n - from;
    out.matches += matches;
    return -1;
  }
}
