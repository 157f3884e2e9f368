import { describe, expect, it } from "vitest";
import { cidrContains, parseCidr, parseIPv4 } from "../network/ip.js";
import { servicePortsForNode } from "./servicePorts.js";
import { syntheticCluster } from "./synthetic.js";

describe("syntheticCluster", () => {
  it("allocates distinct addresses in the right ranges, deterministically", () => {
    const a = syntheticCluster({ services: 250, endpointsPerService: 4, nodes: 5 });
    expect(syntheticCluster({ services: 250, endpointsPerService: 4, nodes: 5 })).toEqual(a);
    const clusterCIDR = parseCidr(a.clusterCIDR);
    const serviceRange = parseCidr(a.serviceClusterIPRange);
    const ips = new Set<string>();
    for (const s of a.services) {
      expect(cidrContains(serviceRange, parseIPv4(s.clusterIP as string))).toBe(true);
      ips.add(s.clusterIP as string);
    }
    const pods = new Set<string>();
    for (const slice of a.endpointSlices) {
      expect(slice.endpoints.length).toBeLessThanOrEqual(100);
      for (const e of slice.endpoints) {
        const node = a.nodes.find((n) => n.name === e.nodeName);
        expect(node).toBeDefined();
        expect(cidrContains(parseCidr(node?.podCIDR as string), parseIPv4(e.address))).toBe(true);
        expect(cidrContains(clusterCIDR, parseIPv4(e.address))).toBe(true);
        pods.add(e.address);
      }
    }
    expect(ips.size).toBe(250);
    expect(pods.size).toBe(1000);
  });

  it("gives every Service its endpoints as kube-proxy sees them", () => {
    const c = syntheticCluster({ services: 3, endpointsPerService: 250, nodes: 3 });
    expect(c.endpointSlices.length).toBe(9);
    const sps = servicePortsForNode(c, "node-1");
    expect(sps.map((sp) => sp.clusterEndpoints.length)).toEqual([250, 250, 250]);
    expect(sps.map((sp) => sp.localEndpoints.length)).toEqual([84, 83, 83]);
  });

  it("NodePort and LoadBalancer Services get ports and ingress IPs", () => {
    const c = syntheticCluster({ services: 2, endpointsPerService: 1, type: "LoadBalancer", externalTrafficPolicy: "Local" });
    expect(c.services[1].ports[0].nodePort).toBe(30001);
    expect(c.services[1].loadBalancerIngress).toEqual(["100.64.0.2"]);
    expect(c.services[1].healthCheckNodePort).toBeDefined();
    expect(() => syntheticCluster({ services: 3000, endpointsPerService: 1, type: "NodePort" })).toThrow(RangeError);
  });
});
