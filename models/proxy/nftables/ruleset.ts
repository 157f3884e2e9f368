/**
 * The objects of kube-proxy's `kube-proxy` nftables table, held as data: each rule is a list of
 * typed expressions, so that ONE structure is both rendered as `nft -f` text and walked by the
 * packet evaluator. Nothing here knows about Services; compile.ts builds these from the cluster.
 */
import { FAMILY, TABLE } from "./names.js";

export type L4 = "tcp" | "udp" | "sctp";

/** Protocol numbers as nft's inet_proto and IPVS use them. */
export const L4_INDEX: Readonly<Record<L4, number>> = { tcp: 0, udp: 1, sctp: 2 };

/** Key of an `ipv4_addr . inet_proto . inet_service` element, as one exact double (< 2^50). */
export function addrProtoPortKey(ip: number, proto: L4, port: number): number {
  return ip * 262144 + L4_INDEX[proto] * 65536 + port;
}

/** Key of an `inet_proto . inet_service` element. */
export function protoPortKey(proto: L4, port: number): number {
  return L4_INDEX[proto] * 65536 + port;
}

export type NftVerdict =
  | { readonly kind: "jump"; readonly chain: string }
  | { readonly kind: "goto"; readonly chain: string }
  | { readonly kind: "drop" }
  | { readonly kind: "reject" }
  | { readonly kind: "return" };

/** An address range [lo, hi) with its text as nft prints it ("10.0.0.0/8" or "10.0.0.1"). */
export interface AddrRange {
  readonly lo: number;
  readonly hi: number;
  readonly text: string;
}

export type NftExpr =
  /** `ct state new`: always true for the first packet of a connection. */
  | { readonly t: "ctNew" }
  /** `ip saddr 10.180.0.1`, `ip saddr != 10.0.0.0/8`, `ip daddr != 127.0.0.0/8` */
  | { readonly t: "addr"; readonly field: "saddr" | "daddr"; readonly neg: boolean; readonly range: AddrRange }
  /** `ip saddr != { a , b }` / `ip daddr { cidrs }` — an anonymous (interval) set: one lookup. */
  | {
      readonly t: "anonSet";
      readonly field: "saddr" | "daddr";
      readonly neg: boolean;
      readonly members: readonly AddrRange[];
      /** The members as kube-proxy joins them (" , " for source ranges, "," for service CIDRs). */
      readonly membersText: string;
    }
  /** `ip daddr @cluster-ips`, `ip saddr @affinity-…`: a named-set lookup. */
  | { readonly t: "namedSet"; readonly field: "saddr" | "daddr"; readonly set: string }
  /** `fib saddr type local` / `fib daddr type local` */
  | { readonly t: "fibLocal"; readonly field: "saddr" | "daddr" }
  /** `meta l4proto tcp` */
  | { readonly t: "l4proto"; readonly proto: L4 }
  /** `mark and 0x4000 == 0` */
  | { readonly t: "markZero"; readonly mark: string }
  /** `ip daddr . meta l4proto . th dport vmap @map` or `meta l4proto . th dport vmap @map` */
  | { readonly t: "vmap"; readonly key: "addrProtoPort" | "protoPort"; readonly map: string }
  /** `numgen random mod N vmap { 0 : goto a , 1 : goto b }` (gotos: the verdicts, prebuilt) */
  | { readonly t: "numgen"; readonly chains: readonly string[]; readonly gotos?: readonly NftVerdict[] }
  | { readonly t: "verdict"; readonly v: NftVerdict }
  /** `mark set mark or 0x4000` / `mark set mark xor 0x4000` */
  | { readonly t: "markSet"; readonly op: "or" | "xor"; readonly mark: string }
  /** `masquerade fully-random` */
  | { readonly t: "masquerade" }
  /** `update @affinity-… { ip saddr }` */
  | { readonly t: "update"; readonly set: string }
  /** `dnat to 10.180.0.1:80` (always preceded by `meta l4proto <p>` in kube-proxy's rules) */
  | { readonly t: "dnat"; readonly ip: number; readonly ipText: string; readonly port: number };

/** Every field any expression has: the evaluator reads them through one object shape. */
interface ExprFields {
  t: string;
  field: "saddr" | "daddr";
  neg: boolean;
  range: AddrRange;
  members: readonly AddrRange[];
  membersText: string;
  set: string;
  proto: L4;
  mark: string;
  key: "addrProtoPort" | "protoPort";
  map: string;
  chains: readonly string[];
  gotos: readonly NftVerdict[];
  v: NftVerdict;
  op: "or" | "xor";
  ip: number;
  ipText: string;
  port: number;
}

const NO_RANGE: AddrRange = { lo: 0, hi: 0, text: "" };

/**
 * Builds an expression with every field present, in one order, so that all expressions share
 * one hidden class and the evaluator's property reads stay monomorphic (several times faster
 * than reading through a dozen shapes).
 */
export function expr<E extends NftExpr>(e: E): E {
  const x = e as Partial<ExprFields>;
  const full: ExprFields = {
    t: e.t,
    field: x.field ?? "saddr",
    neg: x.neg ?? false,
    range: x.range ?? NO_RANGE,
    members: x.members ?? [],
    membersText: x.membersText ?? "",
    set: x.set ?? "",
    proto: x.proto ?? "tcp",
    mark: x.mark ?? "",
    key: x.key ?? "addrProtoPort",
    map: x.map ?? "",
    chains: x.chains ?? [],
    gotos: x.gotos ?? (e.t === "numgen" ? e.chains.map((chain) => verdict({ kind: "goto", chain })) : []),
    v: verdict(x.v ?? { kind: "return" }),
    op: x.op ?? "or",
    ip: x.ip ?? 0,
    ipText: x.ipText ?? "",
    port: x.port ?? 0,
  };
  return full as unknown as E;
}

/** A verdict with its `chain` field always present (one shape). */
export function verdict<V extends NftVerdict>(v: V): V {
  return { kind: v.kind, chain: (v as { chain?: string }).chain ?? "" } as unknown as V;
}

export interface NftRule {
  readonly exprs: readonly NftExpr[];
  readonly comment?: string;
}

export interface BaseChainSpec {
  readonly type: "filter" | "nat";
  readonly hook: "prerouting" | "input" | "forward" | "output" | "postrouting";
  readonly priority: number;
}

export interface NftChain {
  readonly name: string;
  readonly rules: NftRule[];
  readonly base?: BaseChainSpec;
  readonly comment?: string;
}

/** A set or map declaration (the `add set|map` line). */
export interface NftContainer {
  readonly kind: "set" | "map";
  readonly name: string;
  /** e.g. "ipv4_addr", "ipv4_addr . inet_proto . inet_service : verdict" */
  readonly type: string;
  readonly flags?: readonly string[];
  readonly timeoutSeconds?: number;
  readonly comment?: string;
}

/** One element of a set or map. */
export interface NftElement {
  readonly container: string;
  /** The key as nft writes it: "172.30.0.41 . tcp . 80", "tcp . 3001", "172.30.0.41". */
  readonly key: string;
  /** The same key as a number, for the evaluator (see addrProtoPortKey). */
  readonly lookup: number;
  readonly value?: NftVerdict;
  readonly comment?: string;
}

// Shared constant expressions: one object each, whatever the number of rules using them.
export const CT_NEW: NftExpr = expr({ t: "ctNew" });
export const MASQUERADE: NftExpr = expr({ t: "masquerade" });
export const FIB_SADDR_LOCAL: NftExpr = expr({ t: "fibLocal", field: "saddr" });
export const FIB_DADDR_LOCAL: NftExpr = expr({ t: "fibLocal", field: "daddr" });
export const L4PROTO: Readonly<Record<L4, NftExpr>> = {
  tcp: expr({ t: "l4proto", proto: "tcp" }),
  udp: expr({ t: "l4proto", proto: "udp" }),
  sctp: expr({ t: "l4proto", proto: "sctp" }),
};

export function verdictText(v: NftVerdict): string {
  switch (v.kind) {
    case "jump":
      return `jump ${v.chain}`;
    case "goto":
      return `goto ${v.chain}`;
    default:
      return v.kind;
  }
}

export function exprText(e: NftExpr): string {
  switch (e.t) {
    case "ctNew":
      return "ct state new";
    case "addr":
      return `ip ${e.field} ${e.neg ? "!= " : ""}${e.range.text}`;
    case "anonSet":
      return `ip ${e.field} ${e.neg ? "!= " : ""}{ ${e.membersText} }`;
    case "namedSet":
      return `ip ${e.field} @${e.set}`;
    case "fibLocal":
      return `fib ${e.field} type local`;
    case "l4proto":
      return `meta l4proto ${e.proto}`;
    case "markZero":
      return `mark and ${e.mark} == 0`;
    case "vmap":
      return e.key === "addrProtoPort"
        ? `ip daddr . meta l4proto . th dport vmap @${e.map}`
        : `meta l4proto . th dport vmap @${e.map}`;
    case "numgen": {
      let s = `numgen random mod ${e.chains.length} vmap {`;
      for (let i = 0; i < e.chains.length; i++) s += `${i === 0 ? "" : " ,"} ${i} : goto ${e.chains[i]}`;
      return `${s} }`;
    }
    case "verdict":
      return verdictText(e.v);
    case "markSet":
      return `mark set mark ${e.op} ${e.mark}`;
    case "masquerade":
      return "masquerade fully-random";
    case "update":
      return `update @${e.set} { ip saddr }`;
    case "dnat":
      return `dnat to ${e.ipText}:${e.port}`;
  }
}

export function ruleText(rule: NftRule): string {
  let s = "";
  for (let i = 0; i < rule.exprs.length; i++) s += (i === 0 ? "" : " ") + exprText(rule.exprs[i]);
  // Go's %q: kube-proxy's comments contain no quotes or backslashes, so plain quoting suffices.
  if (rule.comment !== undefined) s += ` comment ${JSON.stringify(rule.comment)}`;
  return s;
}

const PREFIX = `${FAMILY} ${TABLE}`;

/** `add chain ip kube-proxy NAME[ { type … hook … priority N ; } | { comment "…" ; }]` */
export function addChainLine(chain: NftChain): string {
  let s = `add chain ${PREFIX} ${chain.name}`;
  if (chain.base !== undefined || chain.comment !== undefined) {
    s += " {";
    if (chain.base !== undefined) s += ` type ${chain.base.type} hook ${chain.base.hook} priority ${chain.base.priority} ;`;
    if (chain.comment !== undefined) s += ` comment ${JSON.stringify(chain.comment)} ;`;
    s += " }";
  }
  return s;
}

export function flushChainLine(name: string): string {
  return `flush chain ${PREFIX} ${name}`;
}

export function deleteChainLine(name: string): string {
  return `delete chain ${PREFIX} ${name}`;
}

export function addRuleLine(chain: string, rule: NftRule): string {
  return `add rule ${PREFIX} ${chain} ${ruleText(rule)}`;
}

/** `add set|map ip kube-proxy NAME { type … ; [flags … ;] [timeout Ns ;] [comment "…" ;] }` */
export function addContainerLine(c: NftContainer): string {
  let s = `add ${c.kind} ${PREFIX} ${c.name} { type ${c.type} ;`;
  if (c.flags !== undefined && c.flags.length > 0) s += ` flags ${c.flags.join(",")} ;`;
  if (c.timeoutSeconds !== undefined) s += ` timeout ${c.timeoutSeconds}s ;`;
  if (c.comment !== undefined) s += ` comment ${JSON.stringify(c.comment)} ;`;
  return `${s} }`;
}

export function flushContainerLine(kind: "set" | "map", name: string): string {
  return `flush ${kind} ${PREFIX} ${name}`;
}

export function deleteContainerLine(kind: "set" | "map", name: string): string {
  return `delete ${kind} ${PREFIX} ${name}`;
}

export function addElementLine(el: NftElement): string {
  let s = `add element ${PREFIX} ${el.container} { ${el.key}`;
  if (el.comment !== undefined) s += ` comment ${JSON.stringify(el.comment)}`;
  if (el.value !== undefined) s += ` : ${verdictText(el.value)}`;
  return `${s} }`;
}

export function deleteElementLine(container: string, key: string): string {
  return `delete element ${PREFIX} ${container} { ${key} }`;
}

export function addTableLine(): string {
  return `add table ${PREFIX} { comment "rules for kube-proxy" ; }`;
}
