/**
 * The fixed iptables part of kube-proxy's IPVS mode (writeIptablesRules and the jumps from the
 * built-in chains, createAndLinkKubeChain), as data: one structure both rendered in
 * iptables-restore syntax, argument for argument as kube-proxy writes it, and walked by the
 * evaluator. Its size depends on which ipsets are non-empty, not on the number of Services:
 * the Services are in the ipsets.
 */
import type { AddrRange } from "../nftables/ruleset.js";
import type { IpsetName, IpvsCompiled, L4 } from "./compile.js";
import { IPSETS } from "./compile.js";

export type SetFlags = "dst" | "dst,dst" | "dst,dst,src" | "src,dst";

export type IptMatch =
  | { readonly m: "src"; readonly neg: boolean; readonly range: AddrRange }
  | { readonly m: "proto"; readonly proto: L4 }
  | { readonly m: "comment"; readonly text: string }
  | { readonly m: "set"; readonly set: IpsetName; readonly flags: SetFlags }
  | { readonly m: "addrtype"; readonly field: "src" | "dst"; readonly neg: boolean }
  | { readonly m: "physdevIsIn"; readonly neg: boolean }
  | { readonly m: "mark"; readonly neg: boolean; readonly mark: string }
  | { readonly m: "ctstate"; readonly states: "NEW" | "RELATED,ESTABLISHED" }
  | { readonly m: "ipvs"; readonly vaddr: string; readonly vproto: L4; readonly vport: number };

export type IptTarget =
  | { readonly t: "jump"; readonly chain: string }
  | { readonly t: "ACCEPT" | "RETURN" | "DROP" | "REJECT" }
  | { readonly t: "MASQUERADE"; readonly randomFully: boolean }
  | { readonly t: "MARK"; readonly op: "or" | "xor"; readonly mark: string };

export interface IptRule {
  readonly table: "nat" | "filter";
  readonly chain: string;
  readonly matches: readonly IptMatch[];
  readonly target: IptTarget;
}

export const NAT_CHAINS = ["KUBE-SERVICES", "KUBE-POSTROUTING", "KUBE-NODE-PORT", "KUBE-LOAD-BALANCER", "KUBE-MARK-MASQ"] as const;
export const FILTER_CHAINS = [
  "KUBE-FORWARD",
  "KUBE-NODE-PORT",
  "KUBE-PROXY-FIREWALL",
  "KUBE-SOURCE-RANGES-FIREWALL",
  "KUBE-IPVS-FILTER",
  "KUBE-IPVS-OUT-FILTER",
] as const;

export interface IpvsIptables {
  /** What kube-proxy feeds iptables-restore (--noflush): nat then filter. */
  readonly rules: readonly IptRule[];
  /**
   * The jumps from the built-in chains, which kube-proxy installs with `iptables -I` (prepend),
   * one by one, so each chain holds them in reverse of kube-proxy's list.
   */
  readonly builtin: readonly IptRule[];
}

function comment(text: string): IptMatch {
  return { m: "comment", text };
}

const COMMENT_OF = new Map<IpsetName, string>(IPSETS.map(([name, , c]) => [name, c]));

/** kube-proxy's ipsetWithIptablesChain: [set, table, from chain, to, match flags, protocol]. */
const SET_JUMPS: ReadonlyArray<readonly [IpsetName, "nat" | "filter", string, string, SetFlags, L4 | null]> = [
  ["KUBE-LOOP-BACK", "nat", "KUBE-POSTROUTING", "MASQUERADE", "dst,dst,src", null],
  ["KUBE-LOAD-BALANCER", "nat", "KUBE-SERVICES", "KUBE-LOAD-BALANCER", "dst,dst", null],
  ["KUBE-LOAD-BALANCER-LOCAL", "nat", "KUBE-LOAD-BALANCER", "RETURN", "dst,dst", null],
  ["KUBE-NODE-PORT-LOCAL-TCP", "nat", "KUBE-NODE-PORT", "RETURN", "dst", "tcp"],
  ["KUBE-NODE-PORT-TCP", "nat", "KUBE-NODE-PORT", "KUBE-MARK-MASQ", "dst", "tcp"],
  ["KUBE-NODE-PORT-LOCAL-UDP", "nat", "KUBE-NODE-PORT", "RETURN", "dst", "udp"],
  ["KUBE-NODE-PORT-UDP", "nat", "KUBE-NODE-PORT", "KUBE-MARK-MASQ", "dst", "udp"],
  ["KUBE-NODE-PORT-LOCAL-SCTP-HASH", "nat", "KUBE-NODE-PORT", "RETURN", "dst,dst", "sctp"],
  ["KUBE-NODE-PORT-SCTP-HASH", "nat", "KUBE-NODE-PORT", "KUBE-MARK-MASQ", "dst,dst", "sctp"],
  ["KUBE-LOAD-BALANCER-FW", "filter", "KUBE-PROXY-FIREWALL", "KUBE-SOURCE-RANGES-FIREWALL", "dst,dst", null],
  ["KUBE-LOAD-BALANCER-SOURCE-CIDR", "filter", "KUBE-SOURCE-RANGES-FIREWALL", "RETURN", "dst,dst,src", null],
  ["KUBE-LOAD-BALANCER-SOURCE-IP", "filter", "KUBE-SOURCE-RANGES-FIREWALL", "RETURN", "dst,dst,src", null],
];

function targetOf(to: string): IptTarget {
  if (to === "RETURN" || to === "ACCEPT" || to === "DROP" || to === "REJECT") return { t: to };
  if (to === "MASQUERADE") return { t: "MASQUERADE", randomFully: false };
  return { t: "jump", chain: to };
}

export function buildIptables(c: IpvsCompiled): IpvsIptables {
  const o = c.options;
  const nonEmpty = (s: IpsetName): boolean => (c.ipsets.get(s)?.size ?? 0) > 0;
  const nat: IptRule[] = [];
  const filter: IptRule[] = [];
  const rule = (table: "nat" | "filter", chain: string, matches: IptMatch[], target: IptTarget): void => {
    (table === "nat" ? nat : filter).push({ table, chain, matches, target });
  };
  const setMatch = (set: IpsetName, flags: SetFlags): IptMatch => ({ m: "set", set, flags });

  rule("nat", "KUBE-SERVICES", [{ m: "src", neg: false, range: { lo: 0x7f000000, hi: 0x80000000, text: "127.0.0.0/8" } }], { t: "RETURN" });
  for (const [set, table, from, to, flags, proto] of SET_JUMPS) {
    if (!nonEmpty(set)) continue;
    const matches: IptMatch[] = proto === null ? [] : [{ m: "proto", proto }];
    matches.push(comment(COMMENT_OF.get(set) as string), setMatch(set, flags));
    rule(table, from, matches, targetOf(to));
  }
  if (nonEmpty("KUBE-CLUSTER-IP")) {
    const head: IptMatch[] = [comment(COMMENT_OF.get("KUBE-CLUSTER-IP") as string)];
    if (o.masqueradeAll) {
      rule("nat", "KUBE-SERVICES", [...head, setMatch("KUBE-CLUSTER-IP", "dst,dst")], { t: "jump", chain: "KUBE-MARK-MASQ" });
    } else if (o.clusterCIDR !== null) {
      const cidr = o.clusterCIDR;
      rule(
        "nat",
        "KUBE-SERVICES",
        [...head, setMatch("KUBE-CLUSTER-IP", "dst,dst"), { m: "src", neg: true, range: { lo: cidr.base, hi: cidr.base + cidr.size, text: cidr.text } }],
        { t: "jump", chain: "KUBE-MARK-MASQ" },
      );
    } else {
      rule("nat", "KUBE-SERVICES", [...head, setMatch("KUBE-CLUSTER-IP", "src,dst")], { t: "jump", chain: "KUBE-MARK-MASQ" });
    }
  }
  const externalIPRules = (head: IptMatch[]): void => {
    rule("nat", "KUBE-SERVICES", [...head, { m: "physdevIsIn", neg: true }, { m: "addrtype", field: "src", neg: true }], { t: "ACCEPT" });
    rule("nat", "KUBE-SERVICES", [...head, { m: "addrtype", field: "dst", neg: false }], { t: "ACCEPT" });
  };
  if (nonEmpty("KUBE-EXTERNAL-IP")) {
    const head = [comment(COMMENT_OF.get("KUBE-EXTERNAL-IP") as string), setMatch("KUBE-EXTERNAL-IP", "dst,dst")];
    rule("nat", "KUBE-SERVICES", head, { t: "jump", chain: "KUBE-MARK-MASQ" });
    externalIPRules(head);
  }
  if (nonEmpty("KUBE-EXTERNAL-IP-LOCAL")) {
    externalIPRules([comment(COMMENT_OF.get("KUBE-EXTERNAL-IP-LOCAL") as string), setMatch("KUBE-EXTERNAL-IP-LOCAL", "dst,dst")]);
  }
  rule("nat", "KUBE-SERVICES", [{ m: "addrtype", field: "dst", neg: false }], { t: "jump", chain: "KUBE-NODE-PORT" });
  rule("nat", "KUBE-LOAD-BALANCER", [], { t: "jump", chain: "KUBE-MARK-MASQ" });
  rule("filter", "KUBE-SOURCE-RANGES-FIREWALL", [], { t: "DROP" });
  for (const e of c.lbNoNodeAccess) {
    const ipText = e.text.slice(0, e.text.indexOf(","));
    rule(
      "filter",
      "KUBE-IPVS-OUT-FILTER",
      [
        { m: "src", neg: false, range: { lo: e.ip as number, hi: (e.ip as number) + 1, text: ipText } },
        { m: "ipvs", vaddr: ipText, vproto: e.proto as L4, vport: e.port as number },
      ],
      { t: "DROP" },
    );
  }
  for (const set of ["KUBE-CLUSTER-IP", "KUBE-LOAD-BALANCER"] as const) {
    if (nonEmpty(set)) rule("nat", "KUBE-SERVICES", [setMatch(set, "dst,dst")], { t: "ACCEPT" });
  }
  rule("filter", "KUBE-FORWARD", [comment("kubernetes forwarding rules"), { m: "mark", neg: false, mark: o.mark }], { t: "ACCEPT" });
  rule("filter", "KUBE-FORWARD", [comment("kubernetes forwarding conntrack rule"), { m: "ctstate", states: "RELATED,ESTABLISHED" }], {
    t: "ACCEPT",
  });
  rule("filter", "KUBE-NODE-PORT", [comment(COMMENT_OF.get("KUBE-HEALTH-CHECK-NODE-PORT") as string), setMatch("KUBE-HEALTH-CHECK-NODE-PORT", "dst")], {
    t: "ACCEPT",
  });
  for (const set of ["KUBE-LOAD-BALANCER", "KUBE-CLUSTER-IP", "KUBE-EXTERNAL-IP", "KUBE-EXTERNAL-IP-LOCAL"] as const) {
    rule("filter", "KUBE-IPVS-FILTER", [setMatch(set, "dst,dst")], { t: "RETURN" });
  }
  rule("filter", "KUBE-IPVS-FILTER", [setMatch("KUBE-HEALTH-CHECK-NODE-PORT", "dst")], { t: "RETURN" });
  rule("filter", "KUBE-IPVS-FILTER", [{ m: "ctstate", states: "NEW" }, setMatch("KUBE-IPVS-IPS", "dst")], { t: "REJECT" });
  rule("nat", "KUBE-POSTROUTING", [{ m: "mark", neg: true, mark: o.mark }], { t: "RETURN" });
  rule("nat", "KUBE-POSTROUTING", [], { t: "MARK", op: "xor", mark: o.mark });
  rule("nat", "KUBE-POSTROUTING", [comment("kubernetes service traffic requiring SNAT")], { t: "MASQUERADE", randomFully: true });
  rule("nat", "KUBE-MARK-MASQ", [], { t: "MARK", op: "or", mark: o.mark });

  // iptablesJumpChain, each installed with `-I` (prepend) in this order.
  const jumps: Array<["nat" | "filter", string, string, string]> = [
    ["nat", "OUTPUT", "KUBE-SERVICES", "kubernetes service portals"],
    ["nat", "PREROUTING", "KUBE-SERVICES", "kubernetes service portals"],
    ["nat", "POSTROUTING", "KUBE-POSTROUTING", "kubernetes postrouting rules"],
    ["filter", "FORWARD", "KUBE-FORWARD", "kubernetes forwarding rules"],
    ["filter", "INPUT", "KUBE-NODE-PORT", "kubernetes health check rules"],
    ["filter", "INPUT", "KUBE-PROXY-FIREWALL", "kube-proxy firewall rules"],
    ["filter", "FORWARD", "KUBE-PROXY-FIREWALL", "kube-proxy firewall rules"],
    ["filter", "INPUT", "KUBE-IPVS-FILTER", "kubernetes ipvs access filter"],
    ["filter", "OUTPUT", "KUBE-IPVS-OUT-FILTER", "kubernetes ipvs access filter"],
  ];
  const builtin: IptRule[] = [];
  for (const [table, from, to, text] of jumps) {
    builtin.unshift({ table, chain: from, matches: [comment(text)], target: { t: "jump", chain: to } });
  }
  return { rules: [...nat, ...filter], builtin };
}

function matchText(m: IptMatch): string {
  switch (m.m) {
    case "src":
      return `${m.neg ? "! " : ""}-s ${m.range.text}`;
    case "proto":
      return `-p ${m.proto}`;
    case "comment":
      return `-m comment --comment "${m.text}"`;
    case "set":
      return `-m set --match-set ${m.set} ${m.flags}`;
    case "addrtype":
      return `-m addrtype ${m.neg ? "! " : ""}--${m.field}-type LOCAL`;
    case "physdevIsIn":
      return `-m physdev ${m.neg ? "! " : ""}--physdev-is-in`;
    case "mark":
      return `-m mark ${m.neg ? "! " : ""}--mark ${m.mark}/${m.mark}`;
    case "ctstate":
      return `-m conntrack --ctstate ${m.states}`;
    case "ipvs":
      return `-m ipvs --vaddr ${m.vaddr} --vproto ${m.vproto} --vport ${m.vport}`;
  }
}

function targetText(t: IptTarget): string {
  switch (t.t) {
    case "jump":
      return `-j ${t.chain}`;
    case "MASQUERADE":
      return t.randomFully ? "-j MASQUERADE --random-fully" : "-j MASQUERADE";
    case "MARK":
      return `-j MARK --${t.op}-mark ${t.mark}`;
    default:
      return `-j ${t.t}`;
  }
}

export function iptRuleText(r: IptRule): string {
  let s = `-A ${r.chain}`;
  for (const m of r.matches) s += ` ${matchText(m)}`;
  return `${s} ${targetText(r.target)}`;
}

/** The iptables-restore input kube-proxy writes (nat chains, nat rules, filter chains, filter rules). */
export function renderIptables(ipt: IpvsIptables): string {
  const lines: string[] = ["*nat"];
  for (const ch of NAT_CHAINS) lines.push(`:${ch} - [0:0]`);
  for (const r of ipt.rules) if (r.table === "nat") lines.push(iptRuleText(r));
  lines.push("COMMIT", "*filter");
  for (const ch of FILTER_CHAINS) lines.push(`:${ch} - [0:0]`);
  for (const r of ipt.rules) if (r.table === "filter") lines.push(iptRuleText(r));
  lines.push("COMMIT");
  return `${lines.join("\n")}\n`;
}
