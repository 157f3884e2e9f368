/**
 * The Service environment variables the kubelet gives a container when it starts
 * (pkg/kubelet/envvars and the kubelet's getServiceEnvVarMap):
 *
 * - Services of the pod's namespace (when enableServiceLinks, the default), plus the
 *   `kubernetes` Service of `default` for every pod, whatever enableServiceLinks says;
 * - only Services with a cluster IP: headless and ExternalName Services are skipped;
 * - only Services that existed when the container started: the variables are fixed at start,
 *   so a Service created later is invisible to the pod until it restarts.
 *
 * For Service `web-api` (prefix WEB_API; `-` and `.` become `_`, a leading digit gets `_`):
 *   WEB_API_SERVICE_HOST=10.96.1.1, WEB_API_SERVICE_PORT=80 (first port),
 *   WEB_API_SERVICE_PORT_<NAME>=<port> for each named port,
 *   WEB_API_PORT=tcp://10.96.1.1:80 (first port), and per port
 *   WEB_API_PORT_80_TCP=tcp://10.96.1.1:80, ..._PROTO=tcp, ..._PORT=80, ..._ADDR=10.96.1.1.
 */
import type { ServiceState } from "../cluster/types.js";

export interface EnvVar {
  name: string;
  value: string;
}

/** What envvars needs of a Service: its state and when it was created. */
export interface EnvVarService {
  state: ServiceState;
  /** Creation time on the cluster clock (ms). */
  createdAtMs: number;
}

export interface EnvVarPod {
  namespace: string;
  /** When the container starts (ms, same clock as createdAtMs). */
  startedAtMs: number;
  /** spec.enableServiceLinks (true by default). */
  enableServiceLinks: boolean;
}

const MASTER_SERVICE_NAMESPACE = "default";
const MASTER_SERVICES = new Set(["kubernetes"]);

/** The kubelet's makeEnvVariableName. */
export function envVarPrefix(serviceName: string): string {
  const n = serviceName.replace(/[.-]/g, "_").toUpperCase();
  return /^[0-9]/.test(n) ? `_${n}` : n;
}

/** The variables of one Service, in the kubelet's order (none for a Service without a cluster IP). */
export function envVarsForService(svc: ServiceState): EnvVar[] {
  const ip = svc.clusterIP;
  if (ip === null || ip === "" || ip === "None" || svc.headless || svc.type === "ExternalName" || svc.ports.length === 0) return [];
  const prefix = envVarPrefix(svc.name);
  const out: EnvVar[] = [
    { name: `${prefix}_SERVICE_HOST`, value: ip },
    { name: `${prefix}_SERVICE_PORT`, value: String(svc.ports[0].port) },
  ];
  for (const p of svc.ports) {
    if (p.name !== "") out.push({ name: `${prefix}_SERVICE_PORT_${envVarPrefix(p.name)}`, value: String(p.port) });
  }
  svc.ports.forEach((p, i) => {
    const proto = p.protocol.toLowerCase();
    const url = `${proto}://${ip}:${p.port}`;
    if (i === 0) out.push({ name: `${prefix}_PORT`, value: url });
    const pp = `${prefix}_PORT_${p.port}_${p.protocol.toUpperCase()}`;
    out.push(
      { name: pp, value: url },
      { name: `${pp}_PROTO`, value: proto },
      { name: `${pp}_PORT`, value: String(p.port) },
      { name: `${pp}_ADDR`, value: ip },
    );
  });
  return out;
}

/**
 * The Service variables a pod's containers get when started at `pod.startedAtMs`: a Service is
 * visible if it was created at or before that time. Ordered by Service name (the kubelet
 * builds a map, so its order is unspecified), then as envVarsForService.
 */
export function serviceEnvVars(pod: EnvVarPod, services: readonly EnvVarService[]): EnvVar[] {
  const chosen = new Map<string, ServiceState>();
  for (const s of services) {
    if (s.createdAtMs > pod.startedAtMs) continue;
    const st = s.state;
    if (st.clusterIP === null || st.headless || st.type === "ExternalName") continue;
    if (st.namespace === MASTER_SERVICE_NAMESPACE && MASTER_SERVICES.has(st.name)) {
      // The pod's own namespace wins when it has a Service of the same name.
      if (!chosen.has(st.name)) chosen.set(st.name, st);
    } else if (st.namespace === pod.namespace && pod.enableServiceLinks) {
      chosen.set(st.name, st);
    }
  }
  const names = [...chosen.keys()].sort();
  const vars = new Map<string, string>();
  for (const n of names) for (const v of envVarsForService(chosen.get(n) as ServiceState)) vars.set(v.name, v.value);
  return [...vars].map(([name, value]) => ({ name, value }));
}

/**
 * A container's final environment: its own `env` first (which wins on a name clash, as the
 * kubelet lets declared variables override service ones), then the Service variables.
 */
export function containerEnv(declared: readonly { name: string; value?: string }[], serviceVars: readonly EnvVar[]): EnvVar[] {
  const own = declared.map((v) => ({ name: v.name, value: v.value ?? "" }));
  const ownNames = new Set(own.map((v) => v.name));
  return [...own, ...serviceVars.filter((v) => !ownNames.has(v.name))];
}
