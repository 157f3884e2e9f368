/**
 * A scenario file with many Services, for timing whole `svcsim rules` processes against the
 * kernel's own loaders: N ClusterIP Services without selectors, each with a hand-written
 * EndpointSlice of M endpoints (the shape `kubectl get svc,endpointslices -o yaml` gives).
 *
 *   node dist/bench/largeScenario.js 10000 4 > /tmp/10k.yaml
 */
import { stringify } from "yaml";
import { formatIPv4, parseIPv4 } from "../models/network/ip.js";

export function largeScenarioYaml(services: number, endpointsPerService: number, nodes = 3, kubeProxy: Record<string, unknown> = {}): string {
  const docs: string[] = [
    stringify({
      apiVersion: "svcsim.dev/v1",
      kind: "Cluster",
      spec: { nodes, clusterCIDR: "10.128.0.0/9", serviceClusterIPRange: "10.96.0.0/12", kubeProxy: { mode: "iptables", ...kubeProxy } },
    }),
  ];
  const podBase = parseIPv4("10.128.0.0");
  let pod = 0;
  for (let i = 0; i < services; i++) {
    const name = `svc-${i}`;
    docs.push(stringify({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec: { ports: [{ name: "http", port: 80, targetPort: 8080 }] } }));
    const endpoints = [];
    for (let e = 0; e < endpointsPerService; e++, pod++) {
      const node = pod % nodes;
      endpoints.push({
        addresses: [formatIPv4(podBase + node * 65_536 + 2 + Math.floor(pod / nodes))],
        conditions: { ready: true },
        nodeName: `node-${node + 1}`,
      });
    }
    docs.push(
      stringify({
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { name: `${name}-abcde`, namespace: "default", labels: { "kubernetes.io/service-name": name } },
        addressType: "IPv4",
        ports: [{ name: "http", port: 8080, protocol: "TCP" }],
        endpoints,
      }),
    );
  }
  return docs.join("---\n");
}

if (process.argv[1]?.endsWith("largeScenario.js")) {
  const [services = "10000", endpoints = "4"] = process.argv.slice(2);
  process.stdout.write(largeScenarioYaml(Number(services), Number(endpoints)));
}
