/**
 * A client's `target`, in the forms of DESIGN.md:
 *   web:80, web.default:80, web.default.svc.cluster.local[.]:80, db.example.com:5432  (DNS name)
 *   10.96.0.10:80                                                                     (address)
 *   node-2:30001                                                                      (node + NodePort)
 *   loadbalancer/NAME:PORT                                                            (LB ingress of a Service)
 * A name that is a node's name is read as a node (node names win over Service names).
 */
import { tryParseIPv4 } from "../network/ip.js";
import type { ClientTarget } from "./types.js";

export const TARGET_EXPECTED =
  "NAME:PORT (a DNS name such as web, web.default, web.default.svc.cluster.local or db.example.com), IP:PORT, NODE:NODEPORT or loadbalancer/SERVICE:PORT";

const DNS_NAME = /^(?=.{1,253}\.?$)([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\.?$/i;
const SERVICE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : null;
}

/** The target, or a sentence saying what is wrong with it. */
export function parseClientTarget(text: string, nodeNames: ReadonlySet<string>, namespace: string): ClientTarget | { error: string } {
  const t = text.trim();
  const colon = t.lastIndexOf(":");
  if (colon <= 0) return { error: "the target needs a port (NAME:PORT)" };
  const host = t.slice(0, colon);
  const port = parsePort(t.slice(colon + 1));
  if (port === null) return { error: `bad port ${JSON.stringify(t.slice(colon + 1))}: expected 1-65535` };
  if (host.toLowerCase().startsWith("loadbalancer/")) {
    const service = host.slice("loadbalancer/".length);
    if (!SERVICE_NAME.test(service)) return { error: `bad Service name ${JSON.stringify(service)} after loadbalancer/` };
    return { kind: "loadBalancer", service, namespace, port, text: t };
  }
  if (tryParseIPv4(host) !== null) return { kind: "address", ip: host, port, text: t };
  if (/^[\d.]+$/.test(host)) return { error: `${JSON.stringify(host)} is not an IPv4 address` };
  if (nodeNames.has(host)) return { kind: "nodePort", node: host, port, text: t };
  if (host.includes("/")) return { error: `unknown target form ${JSON.stringify(host)} (only loadbalancer/NAME is allowed with a slash)` };
  if (!DNS_NAME.test(host)) return { error: `${JSON.stringify(host)} is not a DNS name` };
  return { kind: "dns", name: host.toLowerCase(), port, text: t };
}
