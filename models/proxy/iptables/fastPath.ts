/**
 * The compiled fast path: decides a first packet with indexes built at compile time instead of
 * walking the rules, and charges exactly the work the interpreter counts on the rendered text
 * (same rules traversed, matches tried, chain jumps and recent-table lookups; same random draws,
 * in the same order). The long chains are answered by ScanIndex in time independent of their
 * length; the per-Service chains (a few rules plus one per endpoint) are replayed from the
 * model's records, mirroring the rule order the renderer writes.
 *
 * The property test in fastPath.test.ts checks this equivalence over random clusters and packets.
 */
import type { Packet, UniformSource, Verdict, VerdictAction } from "../types.js";
import type { RecentTable } from "./affinity.js";
import { computeProbability, MASQ_IN_SVC, MASQ_IN_SVL, PROTO_CODE } from "./model.js";
import type { EndpointPlan, IptablesModel, ServicePortPlan } from "./model.js";
import {
  K_EXACT,
  K_LOCAL_DST,
  K_LOCAL_DST_NOT_LOOPBACK,
  K_LOCAL_PORT,
  K_LOOPBACK_PORT,
  K_PORT,
  ScanChainBuilder,
} from "./scanIndex.js";
import type { ScanIndex, ScanResult } from "./scanIndex.js";

/** What a nat KUBE-SERVICES rule jumps to (low 2 bits; the Service port's index above them). */
const TO_SVC = 0;
const TO_SVL = 1;
const TO_EXT = 2;
const TO_FW = 3;
/** The KUBE-SERVICES -> KUBE-NODEPORTS rule. */
const TO_NODEPORTS = -1;

/** Layout of FastPathIndexes.hot. */
const HOT_HEADER = 7;
const AFFINITY = 4;

/** Filter verdicts (also the targets of filter scan chains). */
const ACCEPT = 0;
const DROP = 1;
const REJECT = 2;

/** Per-packet mutable state, reused between packets (evaluate is not re-entrant). */
interface Ctx {
  rules: number;
  matches: number;
  jumps: number;
  lookups: number;
  src: number;
  srcLocal: boolean;
  dst: number;
  dport: number;
  proto: number;
  mark: boolean;
  dnat: boolean;
  rng: UniformSource;
  affinity: RecentTable | undefined;
}

export interface FastPathIndexes {
  /**
   * The hot fields of each Service port, contiguous so that a packet to a cluster IP touches
   * one or two cache lines here: at hotOffset[s], HOT_HEADER int32 (s, cluster IP, port,
   * protocol, masquerade chain | affinity flag, cluster endpoint count, local endpoint count),
   * then the cluster endpoints and the local endpoints as (address, port) pairs.
   */
  hot: Int32Array;
  hotOffset: Int32Array;
  natServices: ScanIndex;
  natNodePorts: ScanIndex;
  filterServices: ScanIndex;
  filterExternal: ScanIndex;
  filterFirewall: ScanIndex;
  filterNodePorts: ScanIndex;
}

/** Builds the scan indexes in exactly the order renderModel writes the rules. */
export function buildIndexes(model: IptablesModel): FastPathIndexes {
  const sps = model.servicePorts;
  const hotOffset = new Int32Array(sps.length);
  let size = 0;
  for (const sp of sps) size += HOT_HEADER + 2 * (sp.clusterEndpoints.length + sp.localEndpoints.length);
  const hot = new Int32Array(size);
  let at = 0;
  for (let s = 0; s < sps.length; s++) {
    const sp = sps[s];
    hotOffset[s] = at;
    hot[at] = s;
    hot[at + 1] = sp.clusterIP | 0;
    hot[at + 2] = sp.port;
    hot[at + 3] = sp.protoCode;
    hot[at + 4] = sp.masqChain | (sp.affinitySeconds > 0 ? AFFINITY : 0);
    hot[at + 5] = sp.clusterEndpoints.length;
    hot[at + 6] = sp.localEndpoints.length;
    at += HOT_HEADER;
    for (const ep of sp.clusterEndpoints) {
      hot[at++] = ep.ip | 0;
      hot[at++] = ep.port;
    }
    for (const ep of sp.localEndpoints) {
      hot[at++] = ep.ip | 0;
      hot[at++] = ep.port;
    }
  }
  const natServices = new ScanChainBuilder();
  const natNodePorts = new ScanChainBuilder();
  const filterServices = new ScanChainBuilder();
  const filterExternal = new ScanChainBuilder();
  const filterFirewall = new ScanChainBuilder();
  const filterNodePorts = new ScanChainBuilder();
  const opts = model.options;
  const loopbackNodePorts = opts.localhostNodePorts && opts.nfacct;
  for (let s = 0; s < sps.length; s++) {
    const sp = sps[s];
    const pr = sp.protoCode;
    const internalFilter = !sp.hasEndpoints ? REJECT : DROP;
    const externalFilter = internalFilter;
    if (sp.hasInternalEndpoints) {
      natServices.add(K_EXACT, sp.clusterIP, pr, sp.port, hotOffset[s] * 4 + (sp.internalPolicyLocal ? TO_SVL : TO_SVC));
    } else {
      filterServices.add(K_EXACT, sp.clusterIP, pr, sp.port, internalFilter);
    }
    for (const ip of sp.externalIPs) {
      if (sp.hasEndpoints) natServices.add(K_EXACT, ip, pr, sp.port, hotOffset[s] * 4 + TO_EXT);
      if (!sp.hasExternalEndpoints) filterExternal.add(K_EXACT, ip, pr, sp.port, externalFilter);
    }
    for (const ip of sp.lbIPs) {
      if (sp.hasEndpoints) natServices.add(K_EXACT, ip, pr, sp.port, hotOffset[s] * 4 + (sp.usesFirewallChain ? TO_FW : TO_EXT));
      if (sp.usesFirewallChain) filterFirewall.add(K_EXACT, ip, pr, sp.port, DROP);
    }
    if (!sp.hasExternalEndpoints) {
      for (const ip of sp.lbIPs) filterExternal.add(K_EXACT, ip, pr, sp.port, externalFilter);
    }
    if (sp.nodePort !== 0) {
      if (sp.hasEndpoints) {
        if (loopbackNodePorts) natNodePorts.add(K_LOOPBACK_PORT, 0, pr, sp.nodePort, s);
        natNodePorts.add(K_PORT, 0, pr, sp.nodePort, s);
      }
      if (!sp.hasExternalEndpoints) filterExternal.add(K_LOCAL_PORT, 0, pr, sp.nodePort, externalFilter);
    }
    if (sp.healthCheckNodePort !== 0) filterNodePorts.add(K_PORT, 0, PROTO_CODE.TCP, sp.healthCheckNodePort, ACCEPT);
  }
  natServices.add(opts.localhostNodePorts ? K_LOCAL_DST : K_LOCAL_DST_NOT_LOOPBACK, 0, 0, 0, TO_NODEPORTS);
  return {
    hot,
    hotOffset,
    natServices: natServices.build(),
    natNodePorts: natNodePorts.build(),
    filterServices: filterServices.build(),
    filterExternal: filterExternal.build(),
    filterFirewall: filterFirewall.build(),
    filterNodePorts: filterNodePorts.build(),
  };
}

function isLocal(ip: number, nodeIP: number): boolean {
  return ip === nodeIP || ip >>> 24 === 127;
}

/** Evaluates first packets against a compiled model; see the module comment. */
export class FastPath {
  private readonly sps: ServicePortPlan[];
  private readonly nodeIP: number;
  private readonly cidrBase: number;
  private readonly cidrSize: number;
  private readonly hasDetector: boolean;
  private readonly masqueradeAll: boolean;
  private readonly localhostNodePorts: boolean;
  private readonly invalidDropRule: boolean;
  /** Parsed probabilities by remaining endpoint count, as the interpreter reads them. */
  private readonly probability: number[] = [];
  private readonly scan: ScanResult = { rules: 0, matches: 0, target: 0 };
  private readonly ctx: Ctx;
  constructor(
    model: IptablesModel,
    private readonly ix: FastPathIndexes,
  ) {
    this.sps = model.servicePorts;
    this.nodeIP = model.nodeIP;
    this.cidrBase = model.clusterCIDR?.base ?? 0;
    this.cidrSize = model.clusterCIDR?.size ?? 0;
    this.hasDetector = model.clusterCIDR !== null;
    this.masqueradeAll = model.options.masqueradeAll;
    this.localhostNodePorts = model.options.localhostNodePorts;
    this.invalidDropRule = !model.options.conntrackTCPLiberal;
    let maxEndpoints = 1;
    for (const sp of this.sps) {
      maxEndpoints = Math.max(maxEndpoints, sp.clusterEndpoints.length, sp.localEndpoints.length);
    }
    for (let n = 0; n <= maxEndpoints; n++) this.probability.push(n < 2 ? 1 : Number(computeProbability(n)));
    this.ctx = {
      rules: 0, matches: 0, jumps: 0, lookups: 0, src: 0, srcLocal: false, dst: 0, dport: 0, proto: 0,
      mark: false, dnat: false, rng: { next: () => 0 }, affinity: undefined,
    };
  }

  evaluate(packet: Packet, rng: UniformSource, affinity: RecentTable | undefined): Verdict {
    const c = this.ctx;
    c.rules = 0;
    c.matches = 0;
    c.jumps = 0;
    c.lookups = 0;
    c.src = packet.srcIP >>> 0;
    c.srcLocal = isLocal(c.src, this.nodeIP);
    c.dst = packet.dstIP >>> 0;
    c.dport = packet.dstPort;
    c.proto = PROTO_CODE[packet.protocol];
    c.mark = false;
    c.dnat = false;
    c.rng = rng;
    c.affinity = affinity;
    const fromHost = packet.ingress === "local" && c.srcLocal;

    // nat PREROUTING or OUTPUT: one rule, jump to KUBE-SERVICES.
    c.rules++;
    c.jumps++;
    this.natServices(c);

    let v: number;
    if (fromHost) v = this.filterOutput(c);
    else if (isLocal(c.dst, this.nodeIP)) v = this.filterInput(c);
    else v = this.filterForward(c);

    let masquerade = false;
    if (v === ACCEPT) {
      // nat POSTROUTING -> KUBE-POSTROUTING.
      c.rules += 2;
      c.jumps++;
      c.matches++;
      if (c.mark) {
        c.rules += 2;
        masquerade = true;
      }
    }
    let action: VerdictAction;
    if (v === DROP) action = "drop";
    else if (v === REJECT) action = "reject";
    else action = c.dnat ? "dnat" : "none";
    const verdict: Verdict = {
      action,
      masquerade,
      work: { rulesTraversed: c.rules, matchesTried: c.matches, mapLookups: c.lookups, chainJumps: c.jumps },
    };
    if (action === "dnat") {
      verdict.endpointIP = c.dst;
      verdict.endpointPort = c.dport;
    }
    return verdict;
  }

  private natServices(c: Ctx): void {
    const ix = this.ix.natServices;
    const dstLocal = isLocal(c.dst, this.nodeIP);
    const dstLoopback = c.dst >>> 24 === 127;
    const scan = this.scan;
    let from = 0;
    for (;;) {
      scan.rules = 0;
      scan.matches = 0;
      const i = ix.scan(c.dst, c.proto, c.dport, dstLocal, dstLoopback, from, scan);
      c.rules += scan.rules;
      c.matches += scan.matches;
      if (i < 0) return;
      c.jumps++;
      const t = scan.target;
      if (t === TO_NODEPORTS) this.natNodePorts(c, dstLocal, dstLoopback);
      else {
        const at = t >> 2;
        switch (t & 3) {
          case TO_SVC: this.policyChain(c, at, false); break;
          case TO_SVL: this.policyChain(c, at, true); break;
          case TO_EXT: this.externalChain(c, this.ix.hot[at]); break;
          case TO_FW: this.firewallChain(c, this.ix.hot[at]); break;
        }
      }
      if (c.dnat) return;
      from = i + 1;
    }
  }

  private natNodePorts(c: Ctx, dstLocal: boolean, dstLoopback: boolean): void {
    const ix = this.ix.natNodePorts;
    const scan = this.scan;
    let from = 0;
    for (;;) {
      scan.rules = 0;
      scan.matches = 0;
      const i = ix.scan(c.dst, c.proto, c.dport, dstLocal, dstLoopback, from, scan);
      c.rules += scan.rules;
      c.matches += scan.matches;
      if (i < 0) return;
      c.jumps++;
      this.externalChain(c, scan.target);
      if (c.dnat) return;
      from = i + 1;
    }
  }

  /** A jump to KUBE-MARK-MASQ: one rule, no match, sets the mark. */
  private markMasq(c: Ctx): void {
    c.jumps++;
    c.rules++;
    c.mark = true;
  }

  private inClusterCIDR(ip: number): boolean {
    return ip >= this.cidrBase && ip < this.cidrBase + this.cidrSize;
  }

  /** KUBE-SVC-* (local = false) or KUBE-SVL-* (local = true) of the Service port whose hot record is at `at`. */
  private policyChain(c: Ctx, at: number, local: boolean): void {
    const hot = this.ix.hot;
    const flags = hot[at + 4];
    if ((flags & 3) === (local ? MASQ_IN_SVL : MASQ_IN_SVC)) {
      // [! -s clusterCIDR] -d clusterIP -p proto --dport port -j KUBE-MARK-MASQ
      c.rules++;
      let ok = true;
      if (!this.masqueradeAll) {
        c.matches++;
        ok = !this.inClusterCIDR(c.src);
      }
      if (ok) {
        c.matches++;
        ok = (c.dst | 0) === hot[at + 1];
      }
      if (ok) {
        c.matches++;
        ok = c.proto === hot[at + 3];
      }
      if (ok) {
        c.matches++;
        ok = c.dport === hot[at + 2];
      }
      if (ok) this.markMasq(c);
    }
    const n = local ? hot[at + 6] : hot[at + 5];
    const first = at + HOT_HEADER + (local ? 2 * hot[at + 5] : 0);
    const affinity = (flags & AFFINITY) !== 0;
    let list: EndpointPlan[] | null = null;
    if (affinity) {
      const sp = this.sps[hot[at]];
      list = local ? sp.localEndpoints : sp.clusterEndpoints;
      for (let i = 0; i < n; i++) {
        c.rules++;
        c.matches++;
        c.lookups++;
        if (c.affinity !== undefined && c.affinity.rcheck(list[i].sepChain, c.src, sp.affinitySeconds, true)) {
          c.jumps++;
          this.endpointChain(c, first + 2 * i, list[i].sepChain);
          if (c.dnat) return;
        }
      }
    }
    for (let i = 0; i < n; i++) {
      c.rules++;
      if (i < n - 1) {
        c.matches++;
        if (!(c.rng.next() < this.probability[n - i])) continue;
      }
      c.jumps++;
      this.endpointChain(c, first + 2 * i, list === null ? null : list[i].sepChain);
      if (c.dnat) return;
    }
  }

  /** KUBE-SEP-*: hairpin masquerade, then [recent --set,] DNAT. `at`: the endpoint in `hot`; `sepChain` with affinity. */
  private endpointChain(c: Ctx, at: number, sepChain: string | null): void {
    const ip = this.ix.hot[at];
    c.rules++;
    c.matches++;
    if ((c.src | 0) === ip) this.markMasq(c);
    // -p proto (always equal: every way here matched it), [-m recent --set], -m proto.
    c.rules++;
    c.matches += 2;
    if (sepChain !== null) {
      c.matches++;
      c.lookups++;
      c.affinity?.set(sepChain, c.src);
    }
    c.dst = ip >>> 0;
    c.dport = this.ix.hot[at + 1];
    c.dnat = true;
  }

  /** KUBE-EXT-*. */
  private externalChain(c: Ctx, s: number): void {
    const sp = this.sps[s];
    if (!sp.externalPolicyLocal) {
      c.rules++;
      this.markMasq(c);
      c.rules++;
      c.jumps++;
      this.policyChain(c, this.ix.hotOffset[s], false);
      return;
    }
    if (this.hasDetector) {
      c.rules++;
      c.matches++;
      if (this.inClusterCIDR(c.src)) {
        c.jumps++;
        this.policyChain(c, this.ix.hotOffset[s], false);
        if (c.dnat) return;
      }
    }
    c.rules++;
    c.matches++;
    if (c.srcLocal) this.markMasq(c);
    c.rules++;
    c.matches++;
    if (c.srcLocal) {
      c.jumps++;
      this.policyChain(c, this.ix.hotOffset[s], false);
      if (c.dnat) return;
    }
    if (sp.hasExternalEndpoints) {
      c.rules++;
      c.jumps++;
      this.policyChain(c, this.ix.hotOffset[s], true);
    }
  }

  /** KUBE-FW-*. */
  private firewallChain(c: Ctx, s: number): void {
    const sp = this.sps[s];
    for (const cidr of sp.sourceRanges) {
      c.rules++;
      c.matches++;
      if (c.src >= cidr.base && c.src < cidr.base + cidr.size) {
        c.jumps++;
        this.externalChain(c, s);
        if (c.dnat) return;
      }
    }
    if (sp.allowFromNode) {
      for (const lb of sp.lbIPs) {
        c.rules++;
        c.matches++;
        if (c.src === lb) {
          c.jumps++;
          this.externalChain(c, s);
          if (c.dnat) return;
        }
      }
    }
    // The comment-only rule matches and has no target.
    c.rules++;
  }

  /** Scans a filter chain reached by a jump; returns its verdict or -1 to fall through. */
  /** A rule with one match that jumps to a filter chain (one rule, one match, one jump), and that chain. */
  private jumpScan(c: Ctx, chain: ScanIndex): number {
    c.rules++;
    c.matches++;
    c.jumps++;
    return this.filterScan(c, chain);
  }

  private filterScan(c: Ctx, ix: ScanIndex): number {
    const scan = this.scan;
    scan.rules = 0;
    scan.matches = 0;
    const i = ix.scan(c.dst, c.proto, c.dport, isLocal(c.dst, this.nodeIP), c.dst >>> 24 === 127, 0, scan);
    c.rules += scan.rules;
    c.matches += scan.matches;
    return i < 0 ? -1 : scan.target;
  }

  /** The KUBE-FIREWALL jump and, with localhost NodePorts, its anti-martian rule. */
  private kubeFirewall(c: Ctx): number {
    c.rules++;
    c.jumps++;
    if (!this.localhostNodePorts) return -1;
    // ! -s 127.0.0.0/8 -d 127.0.0.0/8 ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
    c.rules++;
    c.matches++;
    if (c.src >>> 24 === 127) return -1;
    c.matches++;
    if (c.dst >>> 24 !== 127) return -1;
    c.matches++;
    return c.dnat ? -1 : DROP;
  }

  private filterInput(c: Ctx): number {
    const ix = this.ix;
    // -m conntrack --ctstate NEW -j KUBE-PROXY-FIREWALL
    let v = this.jumpScan(c, ix.filterFirewall);
    if (v >= 0) return v;
    // -j KUBE-NODEPORTS (health check ports)
    c.rules++;
    c.jumps++;
    v = this.filterScan(c, ix.filterNodePorts);
    if (v >= 0) return v;
    // -m conntrack --ctstate NEW -j KUBE-EXTERNAL-SERVICES
    v = this.jumpScan(c, ix.filterExternal);
    if (v >= 0) return v;
    v = this.kubeFirewall(c);
    return v >= 0 ? v : ACCEPT;
  }

  private filterForward(c: Ctx): number {
    const ix = this.ix;
    let v = this.jumpScan(c, ix.filterFirewall);
    if (v >= 0) return v;
    // -j KUBE-FORWARD
    c.rules++;
    c.jumps++;
    if (this.invalidDropRule) {
      c.rules++;
      c.matches++;
    }
    c.rules++;
    c.matches++;
    if (c.mark) return ACCEPT;
    c.rules++;
    c.matches++;
    // -m conntrack --ctstate NEW -j KUBE-SERVICES
    v = this.jumpScan(c, ix.filterServices);
    if (v >= 0) return v;
    v = this.jumpScan(c, ix.filterExternal);
    return v >= 0 ? v : ACCEPT;
  }

  private filterOutput(c: Ctx): number {
    const ix = this.ix;
    let v = this.jumpScan(c, ix.filterFirewall);
    if (v >= 0) return v;
    v = this.jumpScan(c, ix.filterServices);
    if (v >= 0) return v;
    v = this.kubeFirewall(c);
    return v >= 0 ? v : ACCEPT;
  }
}
