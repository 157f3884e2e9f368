/**
 * svcsim's own kinds (apiVersion svcsim.dev/v1): Cluster, Workload, Churn, Run. Read strictly:
 * an unknown field is an error (it is most likely a typo of a known one).
 *
 * Workload clients and Churn events refer to nodes, Services and Deployments that may be
 * declared later in the stream; they are checked in load.ts once everything is read.
 */
import { formatDuration } from "../../sim/time.js";
import { cidrContains, tryParseCidr } from "../network/ip.js";
import type { DocContext } from "./context.js";
import { fieldError, originOf } from "./context.js";
import { parseOrThrow } from "./issues.js";
import {
  churnSchema,
  clusterSchema,
  clusterSpecSchema,
  intIn,
  nodeListItem,
  runSchema,
  workloadSchema,
  type ChurnEventInput,
  type ClientInput,
} from "./schemas.js";
import type { ClusterSpec, NodeSpec, RunSpec } from "./types.js";
import type { z } from "zod";

export const DEFAULT_NODE_COUNT = 3;
export const DEFAULT_ZONES = ["zone-a", "zone-b", "zone-c"];
export const MAX_NODES = 5000;

function overlaps(a: string, b: string): boolean {
  const x = tryParseCidr(a);
  const y = tryParseCidr(b);
  if (!x || !y) return false;
  return cidrContains(x, y.base) || cidrContains(y, x.base);
}

function readNodes(value: unknown, ctx: DocContext): { nodes: NodeSpec[]; fromCount: boolean } {
  const base = ["spec", "nodes"];
  const sub = { ...ctx, pathPrefix: [...ctx.pathPrefix, ...base] };
  if (value === undefined) value = DEFAULT_NODE_COUNT;
  if (typeof value === "number") {
    const count = parseOrThrow(intIn(1, MAX_NODES, `a node count from 1 to ${MAX_NODES}, or a list of {name, zone}`), value, sub);
    const nodes = Array.from({ length: count }, (_, i) => ({
      name: `node-${i + 1}`,
      zone: DEFAULT_ZONES[i % DEFAULT_ZONES.length],
      labels: {},
    }));
    return { nodes, fromCount: true };
  }
  if (!Array.isArray(value)) {
    throw fieldError(ctx, base, "invalid value", `a node count from 1 to ${MAX_NODES}, or a list of {name, zone}`, value);
  }
  if (value.length === 0 || value.length > MAX_NODES) {
    throw fieldError(ctx, base, "invalid value", `from 1 to ${MAX_NODES} nodes`, `${value.length} nodes`);
  }
  const seen = new Map<string, number>();
  const seenIP = new Map<string, number>();
  const nodes = value.map((item, i) => {
    const n = parseOrThrow(nodeListItem, item, { ...sub, pathPrefix: [...sub.pathPrefix, i] });
    const prev = seen.get(n.name);
    if (prev !== undefined) throw fieldError(ctx, [...base, i, "name"], `duplicate node name (also spec.nodes[${prev}])`, "unique node names", n.name);
    seen.set(n.name, i);
    if (n.ip !== undefined) {
      const prevIP = seenIP.get(n.ip);
      if (prevIP !== undefined) throw fieldError(ctx, [...base, i, "ip"], `duplicate node IP (also spec.nodes[${prevIP}])`, "unique node IPs", n.ip);
      seenIP.set(n.ip, i);
    }
    const labels = { ...(n.labels ?? {}) };
    const zone = n.zone ?? labels["topology.kubernetes.io/zone"] ?? DEFAULT_ZONES[i % DEFAULT_ZONES.length];
    const node: NodeSpec = { name: n.name, zone, labels };
    if (n.ip !== undefined) node.ip = n.ip;
    return node;
  });
  return { nodes, fromCount: false };
}

export function defaultClusterSpec(): ClusterSpec {
  const ctx: DocContext = { file: "(defaults)", document: "(defaults)", pathPrefix: [], warnings: [] };
  return buildCluster(parseOrThrow(clusterSpecSchema, undefined, ctx), undefined, ctx);
}

export function readCluster(raw: unknown, ctx: DocContext): ClusterSpec {
  const input = parseOrThrow(clusterSchema, raw, ctx);
  return buildCluster(input.spec, input.spec.nodes, ctx);
}

function buildCluster(spec: z.output<typeof clusterSpecSchema>, nodesValue: unknown, ctx: DocContext): ClusterSpec {
  const { nodes, fromCount } = readNodes(nodesValue, ctx);
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(spec.serviceNodePortRange);
  const min = m ? Number(m[1]) : NaN;
  const max = m ? Number(m[2]) : NaN;
  if (!(min >= 1 && max <= 65535 && min <= max)) {
    throw fieldError(ctx, ["spec", "serviceNodePortRange"], "invalid value", "a port range MIN-MAX within 1-65535, MIN <= MAX", spec.serviceNodePortRange);
  }
  const svcRange = tryParseCidr(spec.serviceClusterIPRange);
  if (svcRange && (svcRange.prefix < 12 || svcRange.prefix > 30)) {
    throw fieldError(ctx, ["spec", "serviceClusterIPRange"], "invalid value", "a prefix length from /12 to /30 (the API server's limits)", spec.serviceClusterIPRange);
  }
  const podRange = tryParseCidr(spec.clusterCIDR);
  if (podRange && podRange.prefix > spec.nodeCIDRMaskSize) {
    throw fieldError(
      ctx,
      ["spec", "nodeCIDRMaskSize"],
      "invalid value",
      `a node CIDR mask size at least the clusterCIDR's prefix (/${podRange.prefix})`,
      spec.nodeCIDRMaskSize,
    );
  }
  if (overlaps(spec.serviceClusterIPRange, spec.clusterCIDR)) {
    throw fieldError(ctx, ["spec", "serviceClusterIPRange"], "the Service range overlaps clusterCIDR", `a range not overlapping clusterCIDR ${spec.clusterCIDR}`, spec.serviceClusterIPRange);
  }
  for (const [field, value] of [
    ["nodeCIDR", spec.nodeCIDR],
    ["loadBalancerCIDR", spec.loadBalancerCIDR],
  ] as const) {
    if (value === undefined) continue;
    for (const other of ["clusterCIDR", "serviceClusterIPRange"] as const) {
      if (overlaps(value, spec[other])) {
        throw fieldError(ctx, ["spec", field], `${field} overlaps ${other}`, `a range not overlapping ${other} ${spec[other]}`, value);
      }
    }
  }
  if (spec.kubeProxy.minSyncPeriod > spec.kubeProxy.syncPeriod) {
    throw fieldError(ctx, ["spec", "kubeProxy", "minSyncPeriod"], "minSyncPeriod is longer than syncPeriod", `at most syncPeriod (${formatDuration(spec.kubeProxy.syncPeriod)})`, formatDuration(spec.kubeProxy.minSyncPeriod));
  }
  const out: ClusterSpec = {
    nodes,
    nodesFromCount: fromCount,
    clusterCIDR: tryParseCidr(spec.clusterCIDR)?.text ?? spec.clusterCIDR,
    nodeCIDRMaskSize: spec.nodeCIDRMaskSize,
    serviceClusterIPRange: svcRange?.text ?? spec.serviceClusterIPRange,
    serviceNodePortRange: { min, max },
    loadBalancerCIDR: tryParseCidr(spec.loadBalancerCIDR)?.text ?? spec.loadBalancerCIDR,
    maxPodsPerNode: spec.maxPodsPerNode,
    kubeProxy: spec.kubeProxy,
    network: spec.network,
    dns: { ...spec.dns, clusterDomain: spec.dns.clusterDomain.replace(/\.$/, "") },
    controlPlane: spec.controlPlane,
  };
  if (spec.nodeCIDR !== undefined) out.nodeCIDR = tryParseCidr(spec.nodeCIDR)?.text ?? spec.nodeCIDR;
  if (ctx.file !== "(defaults)") out.origin = originOf(ctx);
  return out;
}

export interface PendingClient {
  input: ClientInput;
  index: number;
  ctx: DocContext;
}

export function readWorkload(raw: unknown, ctx: DocContext): PendingClient[] {
  const input = parseOrThrow(workloadSchema, raw, ctx);
  const names = new Set<string>();
  return input.spec.clients.map((c, index) => {
    if (names.has(c.name)) throw fieldError(ctx, ["spec", "clients", index, "name"], "duplicate client name", "unique client names", c.name);
    names.add(c.name);
    if ((c.arrival === undefined) === (c.closedLoop === undefined)) {
      throw fieldError(
        ctx,
        ["spec", "clients", index, c.arrival === undefined ? "arrival" : "closedLoop"],
        c.arrival === undefined ? "missing field" : "arrival and closedLoop are exclusive",
        "exactly one of arrival (open loop, e.g. poisson(500/s)) and closedLoop {users, thinkTime}",
      );
    }
    return { input: c, index, ctx };
  });
}

export interface PendingChurnEvent {
  input: ChurnEventInput;
  index: number;
  ctx: DocContext;
}

export function readChurn(raw: unknown, ctx: DocContext): PendingChurnEvent[] {
  const input = parseOrThrow(churnSchema, raw, ctx);
  return input.spec.events.map((ev, index) => {
    const path = ["spec", "events", index];
    const actions = (["rollout", "kill", "scale", "failNode", "crashLoop"] as const).filter((k) => ev[k] !== undefined);
    if (actions.length !== 1) {
      throw fieldError(
        ctx,
        path,
        actions.length === 0 ? "the event has no action" : "the event has several actions",
        "exactly one of rollout, kill, scale, failNode, crashLoop",
        actions,
      );
    }
    const action = actions[0];
    if (action !== "kill" && action !== "crashLoop" && (ev.count !== undefined || ev.fraction !== undefined)) {
      throw fieldError(ctx, [...path, ev.count !== undefined ? "count" : "fraction"], `count and fraction apply to kill and crashLoop, not ${action}`, "no count/fraction", ev.count ?? ev.fraction);
    }
    if (action !== "crashLoop" && ev.runFor !== undefined) {
      throw fieldError(ctx, [...path, "runFor"], `runFor applies to crashLoop, not ${action}`, "no runFor", formatDuration(ev.runFor));
    }
    if (ev.count !== undefined && ev.fraction !== undefined) {
      throw fieldError(ctx, [...path, "fraction"], "count and fraction are exclusive", "either count or fraction", ev.fraction);
    }
    if (action === "scale" && ev.replicas === undefined) {
      throw fieldError(ctx, [...path, "replicas"], "missing field", "replicas for a scale event");
    }
    if (action !== "scale" && ev.replicas !== undefined) {
      throw fieldError(ctx, [...path, "replicas"], `replicas applies to scale, not ${action}`, "no replicas", ev.replicas);
    }
    if (action === "failNode" && ev.namespace !== undefined) {
      throw fieldError(ctx, [...path, "namespace"], "failNode takes no namespace", "no namespace", ev.namespace);
    }
    if (ev.every !== undefined && ev.every <= 0) {
      throw fieldError(ctx, [...path, "every"], "invalid value", "a positive duration", formatDuration(ev.every));
    }
    return { input: ev, index, ctx };
  });
}

export function readRun(raw: unknown, ctx: DocContext): { spec: RunSpec; name?: string } {
  const input = parseOrThrow(runSchema, raw, ctx);
  const spec = input.spec;
  if (spec.duration <= 0) throw fieldError(ctx, ["spec", "duration"], "invalid value", "a positive duration", formatDuration(spec.duration));
  if (spec.warmup >= spec.duration) {
    throw fieldError(ctx, ["spec", "warmup"], "the warmup is not shorter than the run", `a warmup shorter than the duration (${formatDuration(spec.duration)})`, formatDuration(spec.warmup));
  }
  const out: { spec: RunSpec; name?: string } = { spec: { duration: spec.duration, warmup: spec.warmup, seed: spec.seed, replications: spec.replications } };
  if (input.metadata?.name !== undefined) out.name = input.metadata.name;
  return out;
}
