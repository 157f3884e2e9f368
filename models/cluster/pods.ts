/**
 * Pods as the ReplicaSet controller, the scheduler and the kubelet's IPAM make them, without
 * randomness: names `<deployment>-<template hash>-<5 chars>` derived from names, placement on
 * the eligible node with the fewest pods of the same owner, then the fewest pods overall (the
 * spreading the default scheduler's PodTopologySpread and resource scoring give a uniform
 * cluster), then node order; IPs from the node's podCIDR.
 */
import type { DeploymentObject, PodSpecTemplate } from "../scenario/types.js";
import type { PodIPAllocator } from "./allocators.js";
import { deterministicUid, nameSuffix, podTemplateHash } from "./names.js";
import type { PodState, ResolvedDeployment, ResolvedNode } from "./resolved.js";

export const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";

/** The ReplicaSet name and pod-template-hash of a Deployment's current template. */
export function replicaSetOf(deployment: DeploymentObject, revision = 0): { replicaSetName: string; templateHash: string } {
  const t = deployment.template;
  const templateHash = podTemplateHash({ labels: t.labels, annotations: t.annotations, spec: { ...t, labels: undefined, annotations: undefined } }, revision);
  return { replicaSetName: `${deployment.metadata.name}-${templateHash}`, templateHash };
}

function nodeSelectorMatches(selector: readonly [string, string][], node: ResolvedNode): boolean {
  for (const [k, v] of selector) {
    if (node.labels[k] !== v) return false;
  }
  return true;
}

export interface CreatePodOptions {
  /** Start time on the cluster clock (ms since the epoch). */
  startedAtMs: number;
  /** Ready at once (the steady state of a scenario's start); false for a pod that must pass its probes. */
  ready?: boolean;
}

export class PodFactory {
  private readonly perNode = new Map<string, number>();
  /** Pods per owner (namespace/ReplicaSet), per node. */
  private readonly perOwnerNode = new Map<string, Map<string, number>>();
  private readonly names = new Set<string>();
  private readonly sequence = new Map<string, number>();
  /** Nodes that take no new pods (failed or cordoned). */
  readonly unschedulable = new Set<string>();

  constructor(
    readonly nodes: readonly ResolvedNode[],
    readonly podIPs: PodIPAllocator,
  ) {
    for (const n of nodes) this.perNode.set(n.name, 0);
  }

  /** Registers an existing pod's name and placement (for pods not made here). */
  adopt(pod: PodState): void {
    this.names.add(`${pod.namespace}/${pod.name}`);
    if (pod.nodeName !== null) this.count(pod, +1);
  }

  private ownerKey(namespace: string, owner: PodState["owner"]): string {
    return `${namespace}/${owner?.replicaSet ?? ""}`;
  }

  private count(pod: PodState, delta: number): void {
    if (pod.nodeName === null) return;
    this.perNode.set(pod.nodeName, (this.perNode.get(pod.nodeName) ?? 0) + delta);
    const k = this.ownerKey(pod.namespace, pod.owner);
    let m = this.perOwnerNode.get(k);
    if (!m) {
      m = new Map();
      this.perOwnerNode.set(k, m);
    }
    m.set(pod.nodeName, (m.get(pod.nodeName) ?? 0) + delta);
  }

  /** The node the scheduler would pick for a pod of `owner`, or null if none fits. */
  pickNode(namespace: string, owner: PodState["owner"], template: PodSpecTemplate): ResolvedNode | null {
    let best: ResolvedNode | null = null;
    let bestKey: [number, number] = [Infinity, Infinity];
    const mine = this.perOwnerNode.get(this.ownerKey(namespace, owner));
    const selector = Object.entries(template.nodeSelector);
    for (const node of this.nodes) {
      if (template.nodeName !== undefined && template.nodeName !== node.name) continue;
      if (template.nodeName === undefined && this.unschedulable.has(node.name)) continue;
      if (!nodeSelectorMatches(selector, node)) continue;
      const total = this.perNode.get(node.name) ?? 0;
      if (total >= node.maxPods) continue;
      const same = mine?.get(node.name) ?? 0;
      if (same < bestKey[0] || (same === bestKey[0] && total < bestKey[1])) {
        best = node;
        bestKey = [same, total];
      }
    }
    return best;
  }

  private newName(namespace: string, prefix: string): string {
    let seq = this.sequence.get(prefix) ?? 0;
    for (;;) {
      const name = `${prefix}-${nameSuffix(`${namespace}/${prefix}/${seq}`)}`;
      seq++;
      if (!this.names.has(`${namespace}/${name}`)) {
        this.sequence.set(prefix, seq);
        this.names.add(`${namespace}/${name}`);
        return name;
      }
    }
  }

  /** Creates, schedules and addresses one pod of `deployment`. Unschedulable pods stay Pending. */
  createPod(deployment: ResolvedDeployment, options: CreatePodOptions): PodState {
    const d = deployment.spec;
    const namespace = d.metadata.namespace;
    const name = this.newName(namespace, deployment.replicaSetName);
    const owner = { deployment: d.metadata.name, replicaSet: deployment.replicaSetName, templateHash: deployment.templateHash };
    const node = this.pickNode(namespace, owner, d.template);
    let ip: string | null = null;
    if (node !== null) ip = d.template.hostNetwork ? node.ip : this.podIPs.allocate(node.name);
    const placed = node !== null && ip !== null;
    const pod: PodState = {
      namespace,
      name,
      uid: deterministicUid(`Pod/${namespace}/${name}`),
      labels: { ...d.template.labels, [POD_TEMPLATE_HASH_LABEL]: deployment.templateHash },
      annotations: { ...d.template.annotations },
      nodeName: placed ? node.name : null,
      ip: placed ? ip : null,
      hostIP: placed ? node.ip : null,
      owner,
      phase: placed ? "Running" : "Pending",
      ready: placed && (options.ready ?? true),
      terminating: false,
      startedAtMs: options.startedAtMs,
      spec: d.template,
    };
    this.count(pod, +1);
    return pod;
  }

  /** Frees a deleted pod's IP and its place on the node. */
  removePod(pod: PodState): void {
    if (pod.nodeName !== null && pod.ip !== null && !pod.spec.hostNetwork) this.podIPs.release(pod.nodeName, pod.ip);
    this.count(pod, -1);
    this.names.delete(`${pod.namespace}/${pod.name}`);
  }
}
