/**
 * One-way network latency between the places a packet can be: a node (a pod on it, or the
 * node itself), the cloud load balancer, or a host outside the cluster. Each link kind has its
 * own distribution (Cluster spec `network`); draws come from one seeded stream.
 */
import type { Distribution } from "../../sim/distributions.js";
import { parseDistribution } from "../../sim/distributions.js";
import type { Rng } from "../../sim/random.js";
import type { Nanos } from "../../sim/time.js";

export interface LinkLatencies {
  sameNode: string;
  nodeToNode: string;
  zoneToZone: string;
  internetToLB: string;
  lbToNode: string;
  externalToNode: string;
}

export class NetworkModel {
  private readonly sameNode: Distribution;
  private readonly nodeToNode: Distribution;
  private readonly zoneToZone: Distribution;
  private readonly internet: Distribution;
  private readonly lbNode: Distribution;
  private readonly externalNode: Distribution;

  /** `zones[i]` is node i's zone. */
  constructor(
    links: LinkLatencies,
    private readonly zones: readonly string[],
    private readonly rng: Rng,
  ) {
    this.sameNode = parseDistribution(links.sameNode, "network.sameNode");
    this.nodeToNode = parseDistribution(links.nodeToNode, "network.nodeToNode");
    this.zoneToZone = parseDistribution(links.zoneToZone, "network.zoneToZone");
    this.internet = parseDistribution(links.internetToLB, "network.internetToLB");
    this.lbNode = parseDistribution(links.lbToNode, "network.lbToNode");
    this.externalNode = parseDistribution(links.externalToNode, "network.externalToNode");
  }

  /** Between two nodes (indexes); a pod to a pod on the same node goes over the node's bridge. */
  betweenNodes(a: number, b: number): Nanos {
    if (a === b) return this.sameNode.sample(this.rng);
    return this.zones[a] === this.zones[b] ? this.nodeToNode.sample(this.rng) : this.zoneToZone.sample(this.rng);
  }

  /** From a client outside the cluster to the load balancer (or to an external host). */
  internetToLB(): Nanos {
    return this.internet.sample(this.rng);
  }

  lbToNode(): Nanos {
    return this.lbNode.sample(this.rng);
  }

  externalToNode(): Nanos {
    return this.externalNode.sample(this.rng);
  }
}
