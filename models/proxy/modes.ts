/**
 * The registry of kube-proxy modes: one ProxyMode per name, so that callers (the CLI's
 * `svcsim rules --mode`, scenarios' `kubeProxy.mode`, the studies) pick a mode by name.
 *
 * IPVS is listed once its module lands (models/proxy/ipvs/); until then `getProxyMode("ipvs")`
 * reports it as not available, as bad input, rather than failing later.
 */
import { InputError } from "../../sim/errors.js";
import { iptablesMode } from "./iptables/index.js";
import { NftablesProxy } from "./nftables/index.js";
import type { ProxyMode, ProxyModeName } from "./types.js";

export const PROXY_MODE_NAMES: readonly ProxyModeName[] = ["iptables", "nftables", "ipvs"];

/** The modes implemented so far, by name. */
export const proxyModes: Readonly<Partial<Record<ProxyModeName, ProxyMode>>> = {
  iptables: iptablesMode,
  nftables: new NftablesProxy(),
};

export function isProxyModeName(name: string): name is ProxyModeName {
  return (PROXY_MODE_NAMES as readonly string[]).includes(name);
}

/**
 * The mode called `name`. An unknown or not yet available name raises an InputError
 * (`fieldPath` names where it came from, e.g. "spec.kubeProxy.mode" or "--mode").
 */
export function getProxyMode(name: string, fieldPath = "mode"): ProxyMode {
  const available = PROXY_MODE_NAMES.filter((n) => proxyModes[n] !== undefined);
  if (!isProxyModeName(name)) {
    throw new InputError("unknown kube-proxy mode", {
      fieldPath,
      expected: `one of ${available.join(", ")}`,
      found: JSON.stringify(name),
    });
  }
  const mode = proxyModes[name];
  if (mode === undefined) {
    throw new InputError(`kube-proxy mode ${name} is not available in this build`, {
      fieldPath,
      expected: `one of ${available.join(", ")}`,
      found: JSON.stringify(name),
    });
  }
  return mode;
}
