/**
 * The objects every cluster has before anyone applies anything, added by resolveCluster when
 * the scenario does not define them:
 *
 * - `default/kubernetes`: the API server's Service (the first address of the Service range,
 *   port 443 → 6443), without a selector; its endpoint is the API server itself.
 * - `kube-system/kube-dns` in front of the `kube-system/coredns` Deployment (2 replicas by
 *   default), at the 10th address of the range (10.96.0.10 for 10.96.0.0/12), as kubeadm sets
 *   it up, so that DNS queries pay the same data-plane path as other Service traffic. CoreDNS
 *   pods answer with the Cluster's dns.queryLatency as their service time.
 */
import type { ClusterSpec, DeploymentObject, ObjectOrigin, ServiceObject } from "../scenario/types.js";

export const SYSTEM_ORIGIN_FILE = "(built-in)";
export const KUBE_SYSTEM = "kube-system";
export const KUBE_DNS_SERVICE = "kube-dns";
export const COREDNS_DEPLOYMENT = "coredns";
export const KUBE_DNS_LABELS = { "k8s-app": "kube-dns" };
export const API_SERVER_PORT = 6443;
/** Where the built-in objects notionally were created: before any of the scenario's. */
export const SYSTEM_CREATION_LEAD_MS = 3600_000;

function origin(what: string): ObjectOrigin {
  return { file: SYSTEM_ORIGIN_FILE, document: what, pathPrefix: "" };
}

const serviceDefaults = {
  kind: "Service" as const,
  externalIPs: [],
  loadBalancerSourceRanges: [],
  loadBalancerIngress: [],
  externalTrafficPolicy: "Cluster" as const,
  internalTrafficPolicy: "Cluster" as const,
  allocateLoadBalancerNodePorts: true,
  sessionAffinity: "None" as const,
  sessionAffinityTimeoutSeconds: 10800,
  publishNotReadyAddresses: false,
  headless: false,
};

export function kubernetesService(): ServiceObject {
  return {
    ...serviceDefaults,
    metadata: {
      namespace: "default",
      name: "kubernetes",
      labels: { component: "apiserver", provider: "kubernetes" },
      annotations: {},
    },
    origin: origin("built-in Service default/kubernetes"),
    type: "ClusterIP",
    selector: null,
    ports: [{ name: "https", protocol: "TCP", port: 443, targetPort: API_SERVER_PORT }],
  };
}

export function kubeDnsService(): ServiceObject {
  return {
    ...serviceDefaults,
    metadata: {
      namespace: KUBE_SYSTEM,
      name: KUBE_DNS_SERVICE,
      labels: { ...KUBE_DNS_LABELS, "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS" },
      annotations: { "prometheus.io/port": "9153", "prometheus.io/scrape": "true" },
    },
    origin: origin("built-in Service kube-system/kube-dns"),
    type: "ClusterIP",
    selector: { ...KUBE_DNS_LABELS },
    ports: [
      { name: "dns", protocol: "UDP", port: 53, targetPort: 53 },
      { name: "dns-tcp", protocol: "TCP", port: 53, targetPort: 53 },
      { name: "metrics", protocol: "TCP", port: 9153, targetPort: 9153 },
    ],
  };
}

export function corednsDeployment(cluster: ClusterSpec): DeploymentObject {
  return {
    kind: "Deployment",
    metadata: { namespace: KUBE_SYSTEM, name: COREDNS_DEPLOYMENT, labels: { ...KUBE_DNS_LABELS }, annotations: {} },
    origin: origin("built-in Deployment kube-system/coredns"),
    replicas: cluster.dns.replicas,
    selector: { matchLabels: { ...KUBE_DNS_LABELS }, matchExpressions: [] },
    template: {
      labels: { ...KUBE_DNS_LABELS },
      annotations: { "svcsim.dev/service-time": cluster.dns.queryLatency, "svcsim.dev/concurrency": "64" },
      containers: [
        {
          name: "coredns",
          image: "registry.k8s.io/coredns/coredns:v1.11.1",
          ports: [
            { name: "dns", containerPort: 53, protocol: "UDP" },
            { name: "dns-tcp", containerPort: 53, protocol: "TCP" },
            { name: "metrics", containerPort: 9153, protocol: "TCP" },
          ],
          env: [],
          readinessProbe: {
            handler: { type: "httpGet", path: "/ready", port: 8181, scheme: "HTTP" },
            initialDelaySeconds: 0,
            periodSeconds: 10,
            timeoutSeconds: 1,
            successThreshold: 1,
            failureThreshold: 3,
          },
          livenessProbe: {
            handler: { type: "httpGet", path: "/health", port: 8080, scheme: "HTTP" },
            initialDelaySeconds: 60,
            periodSeconds: 10,
            timeoutSeconds: 5,
            successThreshold: 1,
            failureThreshold: 5,
          },
        },
      ],
      nodeSelector: { "kubernetes.io/os": "linux" },
      terminationGracePeriodSeconds: 30,
      enableServiceLinks: true,
      hostNetwork: false,
      // CoreDNS resolves upstream names with the node's resolver.
      dnsPolicy: "Default",
      dnsSearches: [],
      concurrency: 64,
      serviceTime: cluster.dns.queryLatency,
    },
    strategy: { type: "RollingUpdate", maxSurge: "25%", maxUnavailable: 1 },
    minReadySeconds: 0,
    progressDeadlineSeconds: 600,
    revisionHistoryLimit: 10,
    paused: false,
  };
}
