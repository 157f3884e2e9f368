/**
 * The registry of kube-proxy modes: one ProxyMode per name, so that callers (the CLI's
 * `svcsim rules --mode`, scenarios' `kubeProxy.mode`, the studies) pick a mode by name.
 */
import { InputError } from "../../sim/errors.js";
import { iptablesMode } from "./iptables/index.js";
import { IpvsProxy } from "./ipvs/index.js";
import { NftablesProxy } from "./nftables/index.js";
import { PROXY_MODE_NAMES } from "./types.js";
import type { ProxyMode, ProxyModeName } from "./types.js";

export { PROXY_MODE_NAMES };

/** Every mode, by name, with kube-proxy's defaults (IPVS: the rr scheduler). */
export const proxyModes: Readonly<Record<ProxyModeName, ProxyMode>> = {
  iptables: iptablesMode,
  nftables: new NftablesProxy(),
  ipvs: new IpvsProxy(),
};

export function isProxyModeName(name: string): name is ProxyModeName {
  return (PROXY_MODE_NAMES as readonly string[]).includes(name);
}

/**
 * The mode called `name`. An unknown name raises an InputError (`fieldPath` names where it came
 * from, e.g. "spec.kubeProxy.mode" or "--mode").
 */
export function getProxyMode(name: string, fieldPath = "mode"): ProxyMode {
  if (!isProxyModeName(name)) {
    throw new InputError("unknown kube-proxy mode", {
      fieldPath,
      expected: `one of ${PROXY_MODE_NAMES.join(", ")}`,
      found: JSON.stringify(name),
    });
  }
  return proxyModes[name];
}
