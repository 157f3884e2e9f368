import { describe, expect, it } from "vitest";
import { InputError } from "../../sim/errors.js";
import { RandomStreams } from "../../sim/random.js";
import { parseIPv4 } from "../network/ip.js";
import { getProxyMode, isProxyModeName, PROXY_MODE_NAMES, proxyModes } from "./modes.js";
import { syntheticCluster } from "./synthetic.js";
import type { CompiledDataPlane } from "./types.js";

describe("the registry of kube-proxy modes", () => {
  it("finds each mode by its name", () => {
    for (const name of PROXY_MODE_NAMES) {
      const mode = proxyModes[name];
      expect(mode.name).toBe(name);
      expect(getProxyMode(name)).toBe(mode);
    }
    expect(Object.keys(proxyModes).sort()).toEqual(["iptables", "ipvs", "nftables"]);
  });

  it("reports an unknown mode as bad input, naming the field", () => {
    expect(isProxyModeName("userspace")).toBe(false);
    try {
      getProxyMode("userspace", "spec.kubeProxy.mode");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      const e = err as InputError;
      expect(e.fieldPath).toBe("spec.kubeProxy.mode");
      expect(e.found).toBe('"userspace"');
      expect(e.expected).toMatch(/iptables/);
    }
  });
});

describe("resetState", () => {
  // One Service with ClientIP affinity and four endpoints: every mode remembers the client
  // (xt_recent, an nft affinity set, an IPVS persistence template) and IPVS its rr position.
  function plane(mode: (typeof PROXY_MODE_NAMES)[number]) {
    const state = syntheticCluster({ services: 1, endpointsPerService: 4, nodes: 2 });
    state.services[0].sessionAffinity = "ClientIP";
    const p = getProxyMode(mode).compile(state, { nodeName: "node-1", clusterCIDR: state.clusterCIDR });
    p.setTime?.(1e9);
    const dst = parseIPv4(state.services[0].clusterIP as string);
    return { p, dst };
  }
  function endpoints(p: CompiledDataPlane, dst: number, clients: number[], seed: number): (number | undefined)[] {
    const rng = new RandomStreams(seed, 0).get("evaluate");
    return clients.map((src) => {
      const v = p.evaluate({ srcIP: src, srcPort: 40_000, dstIP: dst, dstPort: 80, protocol: "TCP", ingress: "local" }, rng);
      return v.action === "dnat" ? v.endpointIP : undefined;
    });
  }
  const clients = [0x0a800010, 0x0a800011, 0x0a800012, 0x0a800010, 0x0a800013, 0x0a800011];
  // One of the clients above and one other: remembered clients, and an rr position moved on.
  const earlierClients = [0x0a800010, 0x0a800020];

  for (const mode of PROXY_MODE_NAMES) {
    it(`${mode}: a used plane, reset, chooses as a freshly compiled one does`, () => {
      const fresh = plane(mode);
      const expected = endpoints(fresh.p, fresh.dst, clients, 2);
      expect(expected.every((e) => e !== undefined)).toBe(true);
      // Without a reset, what earlier connections left (remembered clients, the rr position)
      // changes the choices: the test is not vacuous.
      const kept = plane(mode);
      endpoints(kept.p, kept.dst, earlierClients, 9);
      expect(endpoints(kept.p, kept.dst, clients, 2)).not.toEqual(expected);

      const reset = plane(mode);
      endpoints(reset.p, reset.dst, earlierClients, 9);
      reset.p.resetState?.();
      reset.p.setTime?.(1e9);
      expect(endpoints(reset.p, reset.dst, clients, 2)).toEqual(expected);
    });
  }
});
