/**
 * Schemas of the objects a scenario may hold. Kubernetes objects are read loosely (unknown and
 * server-set fields such as managedFields, uid, resourceVersion, status are accepted and
 * ignored), with Kubernetes' defaults; svcsim's own kinds strictly (a typo in them is an error).
 *
 * Every leaf carries its own "expected" text as its zod error, so that a failed parse can say
 * what was expected (see issues.ts). Cross-field rules (multi-port names, headless NodePort...)
 * are checked after parsing, in objects.ts.
 */
import { z } from "zod";
import { tryParseCidr, tryParseIPv4 } from "../network/ip.js";
import { DURATION_EXPECTED, parseDuration } from "../../sim/time.js";
import { InputError } from "../../sim/errors.js";
import { checkArrival, checkDistribution } from "./values.js";

// ---------------------------------------------------------------------------------------------
// Leaves

const e = (expected: string) => ({ error: expected });

export function intIn(min: number, max: number, what = `an integer from ${min} to ${max}`) {
  return z.number(e(what)).int(e(what)).min(min, e(what)).max(max, e(what));
}

export const port = intIn(1, 65535, "a port number from 1 to 65535");
export const nonNegativeInt = intIn(0, Number.MAX_SAFE_INTEGER, "a non-negative integer");

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IANA_SVC_NAME = /^(?=.*[a-z])(?!.*--)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const LABEL_EXPECTED = "a DNS label (lowercase letters, digits and '-', at most 63 characters)";
const SERVICE_NAME_EXPECTED = "a DNS-1035 label (lowercase letters, digits and '-', starting with a letter, at most 63 characters)";
const SUBDOMAIN_EXPECTED = "a DNS subdomain (lowercase letters, digits, '-' and '.', at most 253 characters)";
const IANA_EXPECTED = "a port name (lowercase letters, digits and '-', with a letter, at most 15 characters)";

export const dnsLabel = z.string(e(LABEL_EXPECTED)).max(63, e(LABEL_EXPECTED)).regex(DNS1123_LABEL, e(LABEL_EXPECTED));
export const serviceName = z
  .string(e(SERVICE_NAME_EXPECTED))
  .max(63, e(SERVICE_NAME_EXPECTED))
  .regex(DNS1035_LABEL, e(SERVICE_NAME_EXPECTED));
export const dnsSubdomain = z
  .string(e(SUBDOMAIN_EXPECTED))
  .max(253, e(SUBDOMAIN_EXPECTED))
  .regex(DNS1123_SUBDOMAIN, e(SUBDOMAIN_EXPECTED));
export const ianaSvcName = z.string(e(IANA_EXPECTED)).max(15, e(IANA_EXPECTED)).regex(IANA_SVC_NAME, e(IANA_EXPECTED));

const LABEL_VALUE_EXPECTED = "a label value (letters, digits, '-', '_' and '.', at most 63 characters)";
export const labelValue = z.string(e(LABEL_VALUE_EXPECTED)).max(63, e(LABEL_VALUE_EXPECTED)).regex(LABEL_VALUE, e(LABEL_VALUE_EXPECTED));
export const labels = z.record(z.string(), labelValue);
export const annotations = z.record(z.string(), z.string(e("a string (annotation values are strings: quote numbers)")));

export const ipv4 = z
  .string(e("an IPv4 address"))
  .refine((s) => tryParseIPv4(s) !== null, e("an IPv4 address like 10.96.0.10"));
export const cidr = z
  .string(e("an IPv4 CIDR like 10.96.0.0/12"))
  .refine((s) => tryParseCidr(s) !== null, e("an IPv4 CIDR like 10.96.0.0/12"));

export const protocol = z.enum(["TCP", "UDP", "SCTP"], e("one of TCP, UDP, SCTP"));

const INT_OR_PERCENT = "an integer or a percentage like 25%";
export const intOrPercent = z.union([nonNegativeInt, z.string().regex(/^\d+%$/)], e(INT_OR_PERCENT));

/** A duration string (sim/time's grammar), parsed to integer nanoseconds. */
export const duration = z.string(e(DURATION_EXPECTED)).transform((text, ctx) => {
  try {
    return parseDuration(text);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    ctx.issues.push({ code: "custom", message: err.expected ?? DURATION_EXPECTED, input: text, params: { why: err.message } });
    return z.NEVER;
  }
});

function checkedText(check: (text: unknown) => string, expected: string) {
  return z.string(e(expected)).transform((text, ctx) => {
    try {
      return check(text);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      ctx.issues.push({ code: "custom", message: err.expected ?? expected, input: text, params: { why: err.message } });
      return z.NEVER;
    }
  });
}

export const distribution = checkedText((t) => checkDistribution(t), "a distribution like exp(2ms) or lognormal(mean=2ms,cv=1.5)");
export const arrival = checkedText((t) => checkArrival(t), "an arrival process like poisson(500/s)");

// ---------------------------------------------------------------------------------------------
// Kubernetes: metadata, selectors

export const objectMeta = z.object({
  name: dnsSubdomain,
  namespace: dnsLabel.optional(),
  labels: labels.optional(),
  annotations: annotations.optional(),
  creationTimestamp: z.string(e("an RFC 3339 time like 2024-05-01T10:00:00Z")).optional(),
});

const SELECTOR_EXPECTED = "a label selector {matchLabels: {...}, matchExpressions: [...]}";
export const labelSelector = z.object({
  matchLabels: labels.optional(),
  matchExpressions: z
    .array(
      z.object({
        key: z.string(e("a label key")).min(1, e("a label key")),
        operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"], e("one of In, NotIn, Exists, DoesNotExist")),
        values: z.array(labelValue).optional(),
      }),
    )
    .optional(),
}, e(SELECTOR_EXPECTED));

// ---------------------------------------------------------------------------------------------
// Service

export const servicePort = z.object({
  name: dnsLabel.optional(),
  protocol: protocol.default("TCP"),
  appProtocol: z.string().optional(),
  port,
  targetPort: z.union([port, ianaSvcName], e("a port number from 1 to 65535 or a container port name")).optional(),
  nodePort: port.optional(),
});

const TRAFFIC_POLICY = e("one of Cluster, Local");

export const serviceSchema = z.object({
  metadata: objectMeta,
  spec: z
    .object({
      type: z
        .enum(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"], e("one of ClusterIP, NodePort, LoadBalancer, ExternalName"))
        .default("ClusterIP"),
      selector: labels.optional(),
      ports: z.array(servicePort).optional(),
      clusterIP: z.string(e('an IPv4 address, "None" or ""')).optional(),
      clusterIPs: z.array(z.string()).optional(),
      ipFamilies: z.array(z.enum(["IPv4", "IPv6"], e("IPv4 or IPv6"))).optional(),
      ipFamilyPolicy: z
        .enum(["SingleStack", "PreferDualStack", "RequireDualStack"], e("one of SingleStack, PreferDualStack, RequireDualStack"))
        .optional(),
      externalName: z.string(e("a DNS name")).optional(),
      externalIPs: z.array(ipv4).optional(),
      loadBalancerIP: ipv4.optional(),
      loadBalancerSourceRanges: z.array(cidr).optional(),
      loadBalancerClass: z.string().optional(),
      externalTrafficPolicy: z.enum(["Cluster", "Local"], TRAFFIC_POLICY).optional(),
      internalTrafficPolicy: z.enum(["Cluster", "Local"], TRAFFIC_POLICY).optional(),
      healthCheckNodePort: port.optional(),
      allocateLoadBalancerNodePorts: z.boolean(e("true or false")).optional(),
      sessionAffinity: z.enum(["None", "ClientIP"], e("one of None, ClientIP")).default("None"),
      sessionAffinityConfig: z
        .object({ clientIP: z.object({ timeoutSeconds: intIn(1, 86400).optional() }).optional() })
        .optional(),
      publishNotReadyAddresses: z.boolean(e("true or false")).default(false),
    })
    .prefault({}),
  status: z
    .object({
      loadBalancer: z
        .object({
          ingress: z.array(z.object({ ip: z.string().optional(), hostname: z.string().optional() })).optional(),
        })
        .optional(),
    })
    .optional(),
});
export type ServiceInput = z.output<typeof serviceSchema>;

// ---------------------------------------------------------------------------------------------
// Deployment and pod template

const handlerFields = {
  exec: z.object({ command: z.array(z.string(e("a string"))).min(1, e("a non-empty command")) }).optional(),
  httpGet: z
    .object({
      path: z.string().default("/"),
      port: z.union([port, ianaSvcName], e("a port number or a container port name")),
      scheme: z.enum(["HTTP", "HTTPS"], e("HTTP or HTTPS")).default("HTTP"),
    })
    .optional(),
  tcpSocket: z.object({ port: z.union([port, ianaSvcName], e("a port number or a container port name")) }).optional(),
};

export const probe = z.object({
  ...handlerFields,
  grpc: z.object({ port }).optional(),
  initialDelaySeconds: nonNegativeInt.default(0),
  periodSeconds: intIn(1, 86400).default(10),
  timeoutSeconds: intIn(1, 86400).default(1),
  successThreshold: intIn(1, 1000).default(1),
  failureThreshold: intIn(1, 1000).default(3),
});
export type ProbeInput = z.output<typeof probe>;

export const lifecycleHandler = z.object({
  ...handlerFields,
  sleep: z.object({ seconds: nonNegativeInt }).optional(),
});
export type LifecycleHandlerInput = z.output<typeof lifecycleHandler>;

export const container = z.object({
  name: dnsLabel,
  image: z.string().optional(),
  ports: z
    .array(
      z.object({
        name: ianaSvcName.optional(),
        containerPort: port,
        protocol: protocol.default("TCP"),
        hostPort: port.optional(),
      }),
    )
    .default([]),
  env: z.array(z.object({ name: z.string(e("a variable name")).min(1), value: z.string(e("a string")).optional() })).default([]),
  readinessProbe: probe.optional(),
  livenessProbe: probe.optional(),
  startupProbe: probe.optional(),
  lifecycle: z.object({ preStop: lifecycleHandler.optional(), postStart: lifecycleHandler.optional() }).optional(),
});
export type ContainerInput = z.output<typeof container>;

export const podTemplate = z.object({
  metadata: z.object({ labels: labels.optional(), annotations: annotations.optional() }).prefault({}),
  spec: z.object({
    containers: z.array(container, e("a list of containers")).min(1, e("at least one container")),
    nodeName: dnsSubdomain.optional(),
    nodeSelector: labels.optional(),
    terminationGracePeriodSeconds: nonNegativeInt.default(30),
    enableServiceLinks: z.boolean(e("true or false")).default(true),
    hostNetwork: z.boolean(e("true or false")).default(false),
    dnsPolicy: z
      .enum(["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"], e("one of ClusterFirst, ClusterFirstWithHostNet, Default, None"))
      .default("ClusterFirst"),
    dnsConfig: z
      .object({
        nameservers: z.array(z.string()).optional(),
        searches: z.array(z.string()).optional(),
        options: z.array(z.object({ name: z.string(), value: z.string(e("a string (quote numbers)")).optional() })).optional(),
      })
      .optional(),
    hostname: dnsLabel.optional(),
    subdomain: dnsLabel.optional(),
  }),
});
export type PodTemplateInput = z.output<typeof podTemplate>;

export const deploymentSchema = z.object({
  metadata: objectMeta,
  spec: z.object({
    replicas: intIn(0, 100_000, "an integer from 0 to 100000").default(1),
    selector: labelSelector,
    template: podTemplate,
    strategy: z
      .object({
        type: z.enum(["RollingUpdate", "Recreate"], e("one of RollingUpdate, Recreate")).default("RollingUpdate"),
        rollingUpdate: z
          .object({ maxSurge: intOrPercent.default("25%"), maxUnavailable: intOrPercent.default("25%") })
          .optional(),
      })
      .prefault({}),
    minReadySeconds: nonNegativeInt.default(0),
    progressDeadlineSeconds: intIn(1, Number.MAX_SAFE_INTEGER, "a positive integer").default(600),
    revisionHistoryLimit: nonNegativeInt.default(10),
    paused: z.boolean(e("true or false")).default(false),
  }),
});
export type DeploymentInput = z.output<typeof deploymentSchema>;

// ---------------------------------------------------------------------------------------------
// EndpointSlice, Endpoints

const objectRef = z.object({
  kind: z.string().default("Pod"),
  namespace: z.string().optional(),
  name: z.string(e("a name")),
});

export const endpointSliceSchema = z.object({
  metadata: objectMeta,
  addressType: z.enum(["IPv4", "IPv6", "FQDN"], e("one of IPv4, IPv6, FQDN")),
  endpoints: z
    .array(
      z.object({
        addresses: z.array(z.string(e("an address"))).min(1, e("at least one address")).max(100, e("at most 100 addresses")),
        conditions: z
          .object({
            ready: z.boolean(e("true or false")).optional(),
            serving: z.boolean(e("true or false")).optional(),
            terminating: z.boolean(e("true or false")).optional(),
          })
          .prefault({}),
        nodeName: z.string().optional(),
        zone: z.string().optional(),
        hostname: z.string().optional(),
        targetRef: objectRef.optional(),
      }),
    )
    .max(1000, e("at most 1000 endpoints in one slice"))
    .default([]),
  ports: z
    .array(
      z.object({
        name: z.string().default(""),
        protocol: protocol.default("TCP"),
        port: port.optional(),
        appProtocol: z.string().optional(),
      }),
    )
    .max(100, e("at most 100 ports"))
    .default([]),
});
export type EndpointSliceInput = z.output<typeof endpointSliceSchema>;

const endpointAddress = z.object({
  ip: ipv4,
  nodeName: z.string().optional(),
  hostname: z.string().optional(),
  targetRef: objectRef.optional(),
});

export const endpointsSchema = z.object({
  metadata: objectMeta,
  subsets: z
    .array(
      z.object({
        addresses: z.array(endpointAddress).default([]),
        notReadyAddresses: z.array(endpointAddress).default([]),
        ports: z.array(z.object({ name: z.string().default(""), protocol: protocol.default("TCP"), port })).default([]),
      }),
    )
    .default([]),
});
export type EndpointsInput = z.output<typeof endpointsSchema>;

export const listSchema = z.object({
  items: z.array(z.unknown(), e("a list of objects")).default([]),
});

// ---------------------------------------------------------------------------------------------
// svcsim.dev/v1 kinds (strict)

const svcsimMeta = z.strictObject({ name: dnsSubdomain.optional(), labels: labels.optional(), annotations: annotations.optional() });

function svcsimKind<T extends z.ZodType>(spec: T) {
  return z.strictObject({
    apiVersion: z.literal("svcsim.dev/v1"),
    kind: z.string(),
    metadata: svcsimMeta.optional(),
    spec,
  });
}

export const nodeListItem = z.strictObject({
  name: dnsSubdomain,
  zone: z.string(e("a zone name")).min(1, e("a zone name")).optional(),
  labels: labels.optional(),
  ip: ipv4.optional(),
});

export const conntrackSchema = z
  .strictObject({
    maxPerCore: nonNegativeInt.default(32768),
    min: nonNegativeInt.default(131072),
    coresPerNode: intIn(1, 1024).default(4),
    tcpEstablishedTimeout: duration.prefault("24h"),
    tcpCloseWaitTimeout: duration.prefault("1h"),
    tcpTimeWaitTimeout: duration.prefault("2m"),
    udpTimeout: duration.prefault("30s"),
    udpStreamTimeout: duration.prefault("120s"),
  })
  .prefault({});

export const clusterSpecSchema = z
  .strictObject({
    /** A count (1-5000) or a list of nodes; checked in objects.ts for precise paths. */
    nodes: z.unknown().optional(),
    clusterCIDR: cidr.default("10.244.0.0/16"),
    nodeCIDRMaskSize: intIn(8, 30).default(24),
    serviceClusterIPRange: cidr.default("10.96.0.0/12"),
    serviceNodePortRange: z
      .string(e("a port range like 30000-32767"))
      .regex(/^\s*\d+\s*-\s*\d+\s*$/, e("a port range like 30000-32767"))
      .default("30000-32767"),
    nodeCIDR: cidr.optional(),
    loadBalancerCIDR: cidr.default("203.0.113.0/24"),
    maxPodsPerNode: intIn(1, 10_000).default(110),
    kubeProxy: z
      .strictObject({
        mode: z.enum(["iptables", "ipvs", "nftables"], e("one of iptables, ipvs, nftables")).default("iptables"),
        minSyncPeriod: duration.prefault("1s"),
        syncPeriod: duration.prefault("30s"),
        ipvsScheduler: z.enum(["rr", "lc", "dh", "sh", "sed", "nq"], e("one of rr, lc, dh, sh, sed, nq")).default("rr"),
        masqueradeAll: z.boolean(e("true or false")).default(false),
        conntrack: conntrackSchema,
      })
      .prefault({}),
    network: z
      .strictObject({
        sameNode: distribution.prefault("lognormal(mean=20us,cv=0.5)"),
        nodeToNode: distribution.prefault("lognormal(mean=150us,cv=0.5)"),
        zoneToZone: distribution.prefault("lognormal(mean=800us,cv=0.5)"),
        internetToLB: distribution.prefault("lognormal(mean=10ms,cv=0.3)"),
        lbToNode: distribution.prefault("lognormal(mean=300us,cv=0.5)"),
        externalToNode: distribution.prefault("lognormal(mean=5ms,cv=0.3)"),
      })
      .prefault({}),
    dns: z
      .strictObject({
        queryLatency: distribution.prefault("lognormal(mean=150us,cv=1)"),
        ttl: duration.prefault("5s"),
        cacheTTL: duration.prefault("30s"),
        ndots: intIn(0, 15).default(5),
        clusterDomain: dnsSubdomain.default("cluster.local"),
        replicas: intIn(1, 1000).default(2),
      })
      .prefault({}),
    controlPlane: z
      .strictObject({
        podToSlice: distribution.prefault("lognormal(mean=100ms,cv=0.5)"),
        sliceToNode: distribution.prefault("lognormal(mean=200ms,cv=0.5)"),
        podStartup: distribution.prefault("lognormal(mean=2s,cv=0.3)"),
      })
      .prefault({}),
  })
  .prefault({});
export type ClusterSpecInput = z.output<typeof clusterSpecSchema>;
export const clusterSchema = svcsimKind(clusterSpecSchema);

export const clientSchema = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.default("default"),
  from: z.string(e("a node name or external")).min(1, e("a node name or external")),
  target: z.string(e("a target like web:80, 10.96.0.10:80, node-2:30001 or loadbalancer/NAME:PORT")),
  arrival: arrival.optional(),
  closedLoop: z.strictObject({ users: intIn(1, 1_000_000), thinkTime: distribution.prefault("const(0ms)") }).optional(),
  connection: z.enum(["new", "keepalive", "http2"], e("one of new, keepalive, http2")).default("new"),
  keepalive: z
    .strictObject({
      // Connections open on demand up to this bound; one request at a time on each (HTTP/1.1).
      // 100 rather than 1: a pool of one connection serialises a client's requests, which no
      // common HTTP client does by default.
      maxConnections: intIn(1, 1_000_000).default(100),
      idleTimeout: duration.prefault("90s"),
      maxRequestsPerConnection: nonNegativeInt.default(0),
    })
    .prefault({}),
  timeout: duration.prefault("30s"),
  retries: intIn(0, 100).default(0),
  /**
   * A retry budget: retries stay below this fraction of the client's requests (plus 10), as
   * Linkerd's and Envoy's budgets do, so retries cannot multiply an overload. Unset: no budget.
   */
  retryBudget: z.number(e("a fraction in [0, 1]")).min(0, e("a fraction in [0, 1]")).max(1, e("a fraction in [0, 1]")).optional(),
  ndots: intIn(0, 15).optional(),
  /**
   * The client's own cache of DNS answers: "none" (glibc: every lookup asks), "ttl" (keep an
   * answer for its TTL), or a fixed duration (e.g. Java's networkaddress.cache.ttl of 30s).
   */
  dnsCache: z
    .string(e('"none", "ttl" or a duration like 30s'))
    .transform((text, ctx) => {
      if (text === "none" || text === "ttl") return text;
      try {
        return parseDuration(text);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        ctx.issues.push({ code: "custom", message: '"none", "ttl" or a duration like 30s', input: text });
        return z.NEVER;
      }
    })
    .default("none"),
});
export type ClientInput = z.output<typeof clientSchema>;
export const workloadSchema = svcsimKind(z.strictObject({ clients: z.array(clientSchema).default([]) }).prefault({}));

export const churnEventSchema = z.strictObject({
  at: duration,
  rollout: z.string(e("a Deployment name")).optional(),
  kill: z.string(e("a Deployment name")).optional(),
  scale: z.string(e("a Deployment name")).optional(),
  failNode: z.string(e("a node name")).optional(),
  /** Pods of this Deployment crash `runFor` after every start, and restart with the kubelet's back-off. */
  crashLoop: z.string(e("a Deployment name")).optional(),
  runFor: duration.optional(),
  namespace: dnsLabel.optional(),
  count: intIn(1, 1_000_000).optional(),
  fraction: z
    .number(e("a fraction in (0, 1]"))
    .gt(0, e("a fraction in (0, 1]"))
    .max(1, e("a fraction in (0, 1]"))
    .optional(),
  replicas: intIn(0, 100_000).optional(),
  every: duration.optional(),
});
export type ChurnEventInput = z.output<typeof churnEventSchema>;
export const churnSchema = svcsimKind(z.strictObject({ events: z.array(churnEventSchema).default([]) }).prefault({}));

export const runSchema = svcsimKind(
  z
    .strictObject({
      duration: duration.prefault("60s"),
      warmup: duration.prefault("0"),
      seed: intIn(0, Number.MAX_SAFE_INTEGER, "a non-negative integer").default(1),
      replications: intIn(1, 100_000).default(1),
    })
    .prefault({}),
);
