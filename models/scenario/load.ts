/**
 * Loads a scenario: a YAML stream of Kubernetes objects (or a `v1 List` of them, as kubectl
 * prints it) and svcsim's kinds. Every problem is an InputError naming the file, the document,
 * the field path, what was expected and what was found.
 */
import { readFileSync, statSync } from "node:fs";
import { basename, extname } from "node:path";
import { InputError } from "../../sim/errors.js";
import { formatDuration, NS_PER_S } from "../../sim/time.js";
import type { DocContext } from "./context.js";
import { fieldError } from "./context.js";
import { formatPath } from "./issues.js";
import {
  ENDPOINTSLICE_CONTROLLER,
  managedByOf,
  readDeployment,
  readEndpointSlice,
  readEndpoints,
  readService,
} from "./objects.js";
import { listSchema } from "./schemas.js";
import { parseOrThrow } from "./issues.js";
import {
  defaultClusterSpec,
  readChurn,
  readCluster,
  readRun,
  readWorkload,
  type PendingChurnEvent,
  type PendingClient,
} from "./svcsimKinds.js";
import { parseClientTarget, TARGET_EXPECTED } from "./targets.js";
import type {
  ChurnAction,
  ChurnEvent,
  ClientSpec,
  ClusterSpec,
  DeploymentObject,
  EndpointSliceObject,
  EndpointsObject,
  RunSpec,
  Scenario,
  ServiceObject,
} from "./types.js";
import { DEFAULT_MAX_BYTES, visitYamlStream, type PathSegment, type ReadLimits, type SourceDocument } from "./yamlStream.js";

export const SVCSIM_API_VERSION = "svcsim.dev/v1";
const SVCSIM_KINDS = ["Cluster", "Workload", "Churn", "Run"];
/** Kubernetes kinds svcsim reads, with the apiVersion it reads them in. */
const KUBERNETES_KINDS: Record<string, string> = {
  Service: "v1",
  Deployment: "apps/v1",
  EndpointSlice: "discovery.k8s.io/v1",
  Endpoints: "v1",
  List: "v1",
};

export const DEFAULT_RUN: RunSpec = { duration: 60e9, warmup: 0, seed: 1, replications: 1 };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

/**
 * A document's label for messages ("document 2 (Service/web)"). Joined, not concatenated:
 * `a + b` makes a rope of cons cells, and every object read from the document keeps its label
 * (three cells each, 60,000 for 10,000 Services, where a joined string is one).
 */
function documentLabel(...parts: Array<string | number>): string {
  return parts.join("");
}

function label(kind: unknown, name: unknown): string {
  const k = typeof kind === "string" ? kind : "?";
  return typeof name === "string" ? `${k}/${name}` : k;
}

class ScenarioReader {
  readonly warnings: string[] = [];
  readonly services: ServiceObject[] = [];
  readonly deployments: DeploymentObject[] = [];
  readonly slices: EndpointSliceObject[] = [];
  readonly endpoints: EndpointsObject[] = [];
  cluster: ClusterSpec | undefined;
  clusterDoc: string | undefined;
  run: { spec: RunSpec; name?: string } | undefined;
  runDoc: string | undefined;
  readonly clients: PendingClient[] = [];
  readonly events: PendingChurnEvent[] = [];
  private readonly seen = new Map<string, string>();

  constructor(readonly file: string) {}

  readDocument(doc: SourceDocument): void {
    const v = doc.value;
    if (v === undefined || v === null) return; // an empty document (e.g. a trailing ---)
    const kind = isRecord(v) ? v.kind : undefined;
    const name = isRecord(v) && isRecord(v.metadata) ? v.metadata.name : undefined;
    const ctx: DocContext = {
      file: this.file,
      document: documentLabel("document ", doc.index, " (", label(kind, name), ")"),
      pathPrefix: [],
      lineOf: doc.lineOf,
      warnings: this.warnings,
    };
    if (!isRecord(v)) throw fieldError(ctx, [], "not an object", "a mapping with apiVersion and kind", v);
    if (v.kind === "List" && v.apiVersion === "v1") {
      const list = parseOrThrow(listSchema, v, ctx);
      list.items.forEach((item, i) => {
        const ik = isRecord(item) ? item.kind : undefined;
        const iname = isRecord(item) && isRecord(item.metadata) ? item.metadata.name : undefined;
        this.readObject(item, {
          ...ctx,
          document: documentLabel("document ", doc.index, " (List item ", i, ": ", label(ik, iname), ")"),
          pathPrefix: ["items", i],
        });
      });
      return;
    }
    this.readObject(v, ctx);
  }

  private readObject(v: unknown, ctx: DocContext): void {
    if (!isRecord(v)) throw fieldError(ctx, [], "not an object", "a mapping with apiVersion and kind", v);
    const { apiVersion, kind } = v;
    if (typeof kind !== "string" || kind === "") throw fieldError(ctx, ["kind"], "missing field", "a kind such as Service, Deployment or Workload", kind);
    if (typeof apiVersion !== "string" || apiVersion === "") {
      throw fieldError(ctx, ["apiVersion"], "missing field", `an apiVersion (${KUBERNETES_KINDS[kind] ?? SVCSIM_API_VERSION} for ${kind})`, apiVersion);
    }
    if (apiVersion.startsWith("svcsim.dev/")) {
      if (apiVersion !== SVCSIM_API_VERSION) throw fieldError(ctx, ["apiVersion"], "unknown svcsim API version", SVCSIM_API_VERSION, apiVersion);
      this.readSvcsimKind(kind, v, ctx);
      return;
    }
    const wantVersion = KUBERNETES_KINDS[kind];
    if (wantVersion === undefined) {
      const near = Object.keys(KUBERNETES_KINDS).find((k) => editDistance(k.toLowerCase(), kind.toLowerCase()) <= 2);
      if (near !== undefined && near !== "List") {
        throw fieldError(ctx, ["kind"], `unknown kind ${kind}`, `a known kind (did you mean ${near}?)`, kind);
      }
      this.warnings.push(`${ctx.document}: ${apiVersion} ${kind} is not modelled; skipped`);
      return;
    }
    if (apiVersion !== wantVersion) {
      throw fieldError(ctx, ["apiVersion"], `unsupported apiVersion for ${kind}`, wantVersion, apiVersion);
    }
    switch (kind) {
      case "Service": {
        const svc = readService(v, ctx);
        this.claim("Service", svc.metadata.namespace, svc.metadata.name, ctx);
        this.services.push(svc);
        return;
      }
      case "Deployment": {
        const d = readDeployment(v, ctx);
        this.claim("Deployment", d.metadata.namespace, d.metadata.name, ctx);
        this.deployments.push(d);
        return;
      }
      case "EndpointSlice": {
        const managedBy = managedByOf(v);
        const slice = readEndpointSlice(v, ctx);
        if (slice === null) return;
        this.claim("EndpointSlice", slice.metadata.namespace, slice.metadata.name, ctx);
        // The controller's own slices are regenerated from the pods; others are kept.
        if (managedBy === ENDPOINTSLICE_CONTROLLER) return;
        this.slices.push(slice);
        return;
      }
      case "Endpoints": {
        const ep = readEndpoints(v, ctx);
        this.claim("Endpoints", ep.metadata.namespace, ep.metadata.name, ctx);
        this.endpoints.push(ep);
        return;
      }
      case "List":
        this.warnings.push(`${ctx.document}: a List nested in a List is not read; skipped`);
        return;
    }
  }

  private claim(kind: string, namespace: string, name: string, ctx: DocContext): void {
    const key = `${kind}/${namespace}/${name}`;
    const prev = this.seen.get(key);
    if (prev !== undefined) {
      throw fieldError(ctx, ["metadata", "name"], `duplicate ${kind} ${namespace}/${name} (also ${prev})`, `one ${kind} per namespace and name`, name);
    }
    this.seen.set(key, ctx.document);
  }

  private readSvcsimKind(kind: string, v: Record<string, unknown>, ctx: DocContext): void {
    switch (kind) {
      case "Cluster":
        if (this.cluster !== undefined) throw fieldError(ctx, ["kind"], `a second Cluster (the first is ${this.clusterDoc})`, "one Cluster document", kind);
        this.cluster = readCluster(v, ctx);
        this.clusterDoc = ctx.document;
        return;
      case "Workload":
        this.clients.push(...readWorkload(v, ctx));
        return;
      case "Churn":
        this.events.push(...readChurn(v, ctx));
        return;
      case "Run":
        if (this.run !== undefined) throw fieldError(ctx, ["kind"], `a second Run (the first is ${this.runDoc})`, "one Run document", kind);
        this.run = readRun(v, ctx);
        this.runDoc = ctx.document;
        return;
      default: {
        const near = SVCSIM_KINDS.find((k) => editDistance(k.toLowerCase(), kind.toLowerCase()) <= 2);
        throw fieldError(ctx, ["kind"], `unknown svcsim kind ${kind}`, `one of ${SVCSIM_KINDS.join(", ")}${near ? ` (did you mean ${near}?)` : ""}`, kind);
      }
    }
  }

  finish(name: string): Scenario {
    const cluster = this.cluster ?? defaultClusterSpec();
    const nodeNames = new Set(cluster.nodes.map((n) => n.name));
    const clientNames = new Map<string, string>();
    const clients = this.clients.map((p) => {
      const c = this.finishClient(p, cluster, nodeNames);
      const prev = clientNames.get(c.name);
      if (prev !== undefined) {
        throw fieldError(p.ctx, ["spec", "clients", p.index, "name"], `duplicate client name (also in ${prev})`, "unique client names", c.name);
      }
      clientNames.set(c.name, p.ctx.document);
      return c;
    });
    const churn = this.events.map((p) => this.finishEvent(p, nodeNames)).sort((a, b) => a.at - b.at);
    const run = this.run?.spec ?? DEFAULT_RUN;
    for (const ev of churn) {
      if (ev.at >= run.duration) {
        this.warnings.push(`${ev.origin.document}: ${ev.path}.at (${formatDuration(ev.at)}) is not before the run's end (${formatDuration(run.duration)}); the event never happens`);
      }
    }
    return {
      name: this.run?.name ?? name,
      file: this.file,
      cluster,
      services: this.services,
      deployments: this.deployments,
      endpointSlices: this.slices,
      endpoints: this.endpoints,
      workload: { clients },
      churn,
      run,
      warnings: this.warnings,
    };
  }

  private finishClient(p: PendingClient, cluster: ClusterSpec, nodeNames: ReadonlySet<string>): ClientSpec {
    const c = p.input;
    const path: PathSegment[] = ["spec", "clients", p.index];
    let from: ClientSpec["from"];
    if (c.from === "external") from = { kind: "external" };
    else if (nodeNames.has(c.from)) from = { kind: "node", node: c.from };
    else {
      const some = [...nodeNames].slice(0, 3).join(", ");
      throw fieldError(p.ctx, [...path, "from"], `unknown node ${JSON.stringify(c.from)}`, `a node of the Cluster (${some}${nodeNames.size > 3 ? ", ..." : ""}) or external`, c.from);
    }
    const target = parseClientTarget(c.target, nodeNames, c.namespace);
    if ("error" in target) throw fieldError(p.ctx, [...path, "target"], target.error, TARGET_EXPECTED, c.target);
    if (target.kind === "dns" && from.kind === "external") {
      throw fieldError(
        p.ctx,
        [...path, "target"],
        "an external client cannot use the cluster DNS",
        "IP:PORT, NODE:NODEPORT or loadbalancer/SERVICE:PORT for an external client",
        c.target,
      );
    }
    if (target.kind === "nodePort") {
      const { min, max } = cluster.serviceNodePortRange;
      if (target.port < min || target.port > max) {
        throw fieldError(p.ctx, [...path, "target"], "the port is outside serviceNodePortRange", `a NodePort from ${min} to ${max} after the node name`, c.target);
      }
    }
    if (target.kind === "loadBalancer") {
      const svc = this.services.find((s) => s.metadata.namespace === target.namespace && s.metadata.name === target.service);
      if (!svc || svc.type !== "LoadBalancer") {
        throw fieldError(
          p.ctx,
          [...path, "target"],
          svc ? `Service ${target.namespace}/${target.service} is of type ${svc.type}` : `no Service ${target.namespace}/${target.service}`,
          `loadbalancer/NAME:PORT naming a LoadBalancer Service in namespace ${target.namespace}`,
          c.target,
        );
      }
      if (!svc.ports.some((sp) => sp.port === target.port)) {
        throw fieldError(p.ctx, [...path, "target"], `Service ${target.namespace}/${target.service} has no port ${target.port}`, `one of its ports (${svc.ports.map((sp) => sp.port).join(", ")})`, c.target);
      }
    }
    const out: ClientSpec = {
      name: c.name,
      namespace: c.namespace,
      from,
      target,
      connection: c.connection,
      keepalive: c.keepalive,
      timeout: c.timeout,
      retries: c.retries,
      ...(c.retryBudget !== undefined ? { retryBudget: c.retryBudget } : {}),
      ndots: c.ndots ?? cluster.dns.ndots,
      dnsCache: c.dnsCache,
    };
    if (c.arrival !== undefined) out.arrival = c.arrival;
    if (c.closedLoop !== undefined) out.closedLoop = c.closedLoop;
    return out;
  }

  private finishEvent(p: PendingChurnEvent, nodeNames: ReadonlySet<string>): ChurnEvent {
    const ev = p.input;
    const path: PathSegment[] = ["spec", "events", p.index];
    let action: ChurnAction;
    if (ev.failNode !== undefined) {
      if (!nodeNames.has(ev.failNode)) throw fieldError(p.ctx, [...path, "failNode"], `unknown node ${JSON.stringify(ev.failNode)}`, "a node of the Cluster", ev.failNode);
      action = { type: "failNode", node: ev.failNode };
    } else {
      const namespace = ev.namespace ?? "default";
      const key = ev.rollout !== undefined ? "rollout" : ev.kill !== undefined ? "kill" : ev.crashLoop !== undefined ? "crashLoop" : "scale";
      const deployment = (ev.rollout ?? ev.kill ?? ev.crashLoop ?? ev.scale) as string;
      if (!this.deployments.some((d) => d.metadata.namespace === namespace && d.metadata.name === deployment)) {
        throw fieldError(p.ctx, [...path, key], `no Deployment ${namespace}/${deployment}`, `the name of a Deployment in namespace ${namespace}`, deployment);
      }
      if (key === "rollout") action = { type: "rollout", deployment, namespace };
      else if (key === "scale") action = { type: "scale", deployment, namespace, replicas: ev.replicas ?? 0 };
      else if (key === "crashLoop") {
        action = { type: "crashLoop", deployment, namespace, runFor: ev.runFor ?? 10 * NS_PER_S };
        if (ev.fraction !== undefined) action.fraction = ev.fraction;
        else action.count = ev.count ?? 1;
      }
      else {
        action = { type: "kill", deployment, namespace };
        if (ev.fraction !== undefined) action.fraction = ev.fraction;
        else action.count = ev.count ?? 1;
      }
    }
    const out: ChurnEvent = { at: ev.at, action, origin: { file: p.ctx.file, document: p.ctx.document, pathPrefix: "" }, path: formatPath(path) };
    if (ev.every !== undefined) out.every = ev.every;
    return out;
  }
}

/** Parses a scenario from its text; `file` names it in messages and gives its default name. */
export function parseScenario(text: string, file: string, limits: ReadLimits = {}): Scenario {
  // Documents are read in stream order; a restart (the careful path) gets a fresh reader.
  let reader = new ScenarioReader(file);
  visitYamlStream(text, file, limits, () => {
    reader = new ScenarioReader(file);
    return (doc) => reader.readDocument(doc);
  });
  return reader.finish(basename(file, extname(file)));
}

/** Reads and parses a scenario file. */
export function loadScenario(path: string, limits: ReadLimits = {}): Scenario {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > maxBytes) {
      throw new InputError("the scenario file is too large", { file: path, expected: `at most ${maxBytes} bytes`, found: `${size} bytes` });
    }
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read the scenario file${code ? ` (${code})` : ""}`, { file: path, expected: "a readable YAML file" });
  }
  return parseScenario(text, path, limits);
}
