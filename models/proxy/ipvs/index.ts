/** kube-proxy's IPVS mode: virtual and real servers, schedulers, the fixed iptables/ipset part. */
export { IpvsDataPlane, IpvsProxy, compileIpvs } from "./dataplane.js";
export type { IpvsUpdate, IpvsVerdict } from "./dataplane.js";
export type { IpvsOptions, IpvsScheduler, RealServer, VirtualServer } from "./compile.js";
