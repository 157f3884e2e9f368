/**
 * kube-proxy's iptables mode behind the ProxyMode interface.
 *
 * compile() builds, for one node, the records kube-proxy's syncProxyRules derives from the
 * cluster state (model.ts), the indexes of the fast path (fastPath.ts) and, lazily, the
 * iptables-restore text (render.ts). evaluate() is the fast path; interpretIptables() is the
 * reference interpreter over the rendered text (interpreter.ts). Both honour an optional
 * RecentTable (affinity.ts) for ClientIP session affinity.
 */
import type { ClusterState } from "../../cluster/types.js";
import type { CompiledDataPlane, DataPlaneSize, Packet, ProxyMode, UniformSource, Verdict } from "../types.js";
import { RecentTable } from "./affinity.js";
import { buildIndexes, FastPath } from "./fastPath.js";
import { buildModel, updateModel } from "./model.js";
import type { IptablesModel } from "./model.js";
import type { IptablesOptions } from "./options.js";
import { countRules, renderModel } from "./render.js";
import type { RenderCounts, RenderResult } from "./render.js";

export { RecentTable } from "./affinity.js";
export { KUBE_PROXY_HOOK_RULES } from "./hooks.js";
export { interpretIptables, prepareRuleset, PreparedRuleset } from "./interpreter.js";
export type { InterpretOptions } from "./interpreter.js";
export { computeProbability } from "./model.js";
export type { EndpointPlan, IptablesModel, ServicePortPlan } from "./model.js";
export { formatMasqueradeMark, KUBE_PROXY_UNIT_TEST_OPTIONS } from "./options.js";
export type { IptablesOptions } from "./options.js";
export { parseIptablesRestore } from "./parse.js";
export type { ParsedRuleset } from "./parse.js";
export type { RenderCounts } from "./render.js";

export interface IptablesCompileOptions extends IptablesOptions {
  /** The xt_recent state the plane's evaluate() uses; settable later through `affinity`. */
  affinity?: RecentTable;
}

/** One node's iptables data plane. */
export class IptablesDataPlane implements CompiledDataPlane {
  readonly mode = "iptables" as const;
  readonly nodeName: string;
  /** ClientIP affinity state used by evaluate(); undefined: no affinity memory. */
  affinity: RecentTable | undefined;
  private fastPath: FastPath | null = null;
  private rendered: RenderResult | null = null;
  private counted: RenderCounts | undefined;
  private sized: DataPlaneSize | null = null;

  constructor(
    readonly model: IptablesModel,
    affinity?: RecentTable,
  ) {
    this.nodeName = model.options.nodeName;
    this.affinity = affinity;
  }

  /** The fast path's indexes, built on first use (a plane that only renders never needs them). */
  private get fast(): FastPath {
    if (this.fastPath === null) this.fastPath = new FastPath(this.model, buildIndexes(this.model));
    return this.fastPath;
  }

  /** The node's IPv4 address (unsigned), as the interpreter needs it. */
  get nodeIP(): number {
    return this.model.nodeIP;
  }

  /** The full-sync iptables-restore input (computed once). */
  render(): string {
    if (this.rendered === null) this.rendered = renderModel(this.model);
    return this.rendered.text;
  }

  /**
   * What a partial sync writes (KEP-3453): the filter table, KUBE-SERVICES and KUBE-NODEPORTS
   * whole, and only the changed Services' chains; with `previous`, `-X` for the chains of those
   * Services that no longer exist.
   */
  renderPartial(changedServices: ReadonlySet<string>, previous?: IptablesDataPlane): RenderResult {
    let deleted: string[] | undefined;
    if (previous) {
      const now = new Set<string>();
      const before: string[] = [];
      for (const sp of this.model.servicePorts) {
        if (changedServices.has(sp.serviceKey)) for (const c of serviceChains(sp)) now.add(c);
      }
      for (const sp of previous.model.servicePorts) {
        if (changedServices.has(sp.serviceKey)) for (const c of serviceChains(sp)) before.push(c);
      }
      deleted = before.filter((c) => !now.has(c));
    }
    return renderModel(this.model, changedServices, deleted);
  }

  evaluate(packet: Packet, rng: UniformSource): Verdict {
    return this.fast.evaluate(packet, rng, this.affinity);
  }

  /** The xt_recent tables live in the kernel: a plane in a simulation gets one, on the simulated clock. */
  setTime(nowNs: number): void {
    this.affinity ??= new RecentTable();
    this.affinity.now = nowNs / 1e9;
  }

  inheritStateFrom(previous: CompiledDataPlane): void {
    if (previous instanceof IptablesDataPlane && previous.affinity !== undefined) this.affinity ??= previous.affinity;
  }

  /** A fresh xt_recent table (the old one may be shared with the plane this one replaced). */
  resetState(): void {
    if (this.affinity !== undefined) this.affinity = new RecentTable();
  }

  /** evaluate() with an explicit affinity table (undefined: none). */
  evaluateWith(packet: Packet, rng: UniformSource, affinity: RecentTable | undefined): Verdict {
    return this.fast.evaluate(packet, rng, affinity);
  }

  /** Rule and chain counts of a full sync (without rendering; counted once). */
  counts(): RenderCounts {
    this.counted ??= this.rendered?.counts ?? countRules(this.model);
    return this.counted;
  }

  /** Asked for every first packet's cost: computed once per plane. */
  size(): DataPlaneSize {
    if (this.sized === null) {
      const c = this.counts();
      this.sized = { rules: c.filterRules + c.natRules, chains: c.filterChains + c.natChains, mapElements: 0 };
    }
    return this.sized;
  }

  /**
   * A new plane for `state` in which only the Services in `changed` ("ns/name") are recompiled;
   * the others' records are reused. Render the difference with `next.renderPartial(changed, this)`.
   */
  update(state: ClusterState, changed: ReadonlySet<string>): IptablesDataPlane {
    return new IptablesDataPlane(updateModel(this.model, state, changed), this.affinity);
  }
}

function serviceChains(sp: IptablesModel["servicePorts"][number]): string[] {
  const out: string[] = [];
  if (sp.usesExternalChain) out.push(sp.extChain);
  if (sp.usesFirewallChain) out.push(sp.fwChain);
  if (sp.usesClusterChain) out.push(sp.svcChain);
  if (sp.usesLocalChain) out.push(sp.svlChain);
  for (const ep of sp.reachableEndpoints) out.push(ep.sepChain);
  return out;
}

export function compileIptables(state: ClusterState, options: IptablesCompileOptions): IptablesDataPlane {
  return new IptablesDataPlane(buildModel(state, options), options.affinity);
}

export const iptablesMode: ProxyMode = {
  name: "iptables",
  compile: (state, options, previous) =>
    previous !== undefined && previous.plane instanceof IptablesDataPlane && previous.plane.nodeName === options.nodeName
      ? previous.plane.update(state, previous.changedServices)
      : compileIptables(state, options),
};
