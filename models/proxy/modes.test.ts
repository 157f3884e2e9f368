import { describe, expect, it } from "vitest";
import { InputError } from "../../sim/errors.js";
import { getProxyMode, isProxyModeName, PROXY_MODE_NAMES, proxyModes } from "./modes.js";

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
