/** Service discovery: the cluster DNS (dns.ts) and the kubelet's Service env vars (envvars.ts). */
export * from "./dns.js";
export * from "./envvars.js";
