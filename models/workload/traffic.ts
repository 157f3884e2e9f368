/**
 * Clients and their requests: arrivals (open loop) or users with think time (closed loop);
 * connections per request, in keep-alive pools, or one multiplexed HTTP/2 connection; the path
 * of each new connection (DNS, the ingress node's data plane, the hops to the pod) and of each
 * request on it (the pod's queue and service); timeouts, retries, and errors by cause.
 *
 * Balancing happens where the real thing does it: when a connection is opened (kube-proxy DNATs
 * its first packet), never per request on an open connection.
 */
import { parseDistribution } from "../../sim/distributions.js";
import type { ArrivalProcess, Distribution } from "../../sim/distributions.js";
import { parseArrival } from "../../sim/arrivals.js";
import type { EventId, HandlerId, Simulation } from "../../sim/engine.js";
import type { RandomStreams, Rng } from "../../sim/random.js";
import { NS_PER_MS, NS_PER_S } from "../../sim/time.js";
import type { Nanos } from "../../sim/time.js";
import { cidrContains, parseCidr, parseIPv4 } from "../network/ip.js";
import type { NetworkModel } from "../network/latency.js";
import { firstPacketCostBreakdown, sampleJitter } from "../proxy/cost.js";
import type { CostProfile } from "../proxy/cost.js";
import type { Packet } from "../proxy/types.js";
import type { ClientSpec } from "../scenario/types.js";
import type { DynamicCluster, NodeRuntime } from "./controlPlane.js";
import type { DnsClient, DnsResult } from "./dns.js";
import { ERROR_CAUSES, type ErrorCause, type WorkloadMetrics } from "./metrics.js";
import type { PodRuntime } from "./pods.js";

/** Where a connection's packets go, one way, as a list of links. */
interface Connection {
  id: number;
  client: ClientRuntime;
  /** The pod serving it; null for a host outside the cluster. */
  pod: PodRuntime | null;
  /** Node whose data plane handled the first packet (-1: none, e.g. an external host). */
  ingressNode: number;
  viaLB: boolean;
  /** Node the destination pod runs on (-1: outside the cluster). */
  podNode: number;
  requests: number;
  inFlight: number;
  lastUsed: Nanos;
  closed: boolean;
  /** Source NAT on the way (the pod sees the node's address, not the client's). */
  snat: boolean;
}

export interface Request {
  client: ClientRuntime;
  /** Closed-loop user, or -1. */
  user: number;
  startedAt: Nanos;
  attempt: number;
  attemptStart: Nanos;
  conn: Connection | null;
  dns: Nanos;
  /** Time spent waiting for a free connection of the client's keep-alive pool. */
  poolWait: Nanos;
  /** When the request started waiting for a pool connection (-1: not waiting). */
  waitingSince: Nanos;
  connect: Nanos;
  network: Nanos;
  queuedAt: Nanos;
  serviceStart: Nanos;
  serviceNs: Nanos;
  timeoutEvent: EventId;
  /** The current attempt has ended (answered, failed or timed out). */
  settled: boolean;
  /** Why the attempt will fail at its timeout, if it is already known to be doomed. */
  doomedBy: ErrorCause | null;
}

export class ClientRuntime {
  readonly nodeIndex: number;
  readonly ip: number;
  readonly arrival: ArrivalProcess | null;
  readonly thinkTime: Distribution | null;
  readonly arrivals: Rng;
  /** Idle keep-alive connections, most recently used last. */
  readonly idle: Connection[] = [];
  /** Open connections (idle or busy), for the pool's limit. */
  open = 0;
  h2: Connection | null = null;
  /** Requests waiting for a pool connection. */
  readonly waiting: Request[] = [];
  readonly dnsCacheEntries = new Map<string, { result: DnsResult; expires: Nanos }>();
  /** The target's address, parsed once (address and load-balancer targets). */
  targetIP: number | undefined;
  /** For the retry budget. */
  requestsStarted = 0;
  retriesIssued = 0;
  nextPort = 0;

  constructor(
    readonly index: number,
    readonly spec: ClientSpec,
    nodeIndex: number,
    ip: number,
    streams: RandomStreams,
  ) {
    this.nodeIndex = nodeIndex;
    this.ip = ip;
    this.arrival = spec.arrival ? parseArrival(spec.arrival, `clients[${index}].arrival`) : null;
    this.thinkTime = spec.closedLoop ? parseDistribution(spec.closedLoop.thinkTime, `clients[${index}].closedLoop.thinkTime`) : null;
    this.arrivals = streams.get(`arrivals/${spec.name}`);
  }
}

export interface TrafficOptions {
  sim: Simulation;
  streams: RandomStreams;
  cluster: DynamicCluster;
  network: NetworkModel;
  metrics: WorkloadMetrics;
  profile: CostProfile;
  dns: DnsClient;
  clients: readonly ClientSpec[];
  duration: Nanos;
  fairnessWindow: Nanos;
}

const RETRY_BASE = 25 * NS_PER_MS;
const CAUSE_SLOTS = 16;
// External clients take addresses from TEST-NET-1 (external names use TEST-NET-2, load balancers TEST-NET-3).
const EXTERNAL_CLIENT_BASE = parseIPv4("192.0.2.0");

export class Traffic {
  readonly clients: ClientRuntime[] = [];
  private readonly sim: Simulation;
  private readonly cluster: DynamicCluster;
  private readonly network: NetworkModel;
  private readonly metrics: WorkloadMetrics;
  private readonly profile: CostProfile;
  private readonly dns: DnsClient;
  private readonly duration: Nanos;
  private readonly window: Nanos;
  private readonly dataPlaneRng: Rng;
  private readonly jitterRng: Rng;
  private readonly lbRng: Rng;
  private readonly clusterCidr;
  private connectionIds = 0;
  /** Attempts waiting for their timeout to fail (see doom). */
  private readonly doomed = new Set<Request>();

  private readonly hArrival: HandlerId<ClientRuntime>;
  private readonly hUser: HandlerId<ClientRuntime>;
  private readonly hAtPod: HandlerId<Request>;
  private readonly hServiceDone: HandlerId<Request>;
  private readonly hResponse: HandlerId<Request>;
  private readonly hFail: HandlerId<Request>;
  private readonly hTimeout: HandlerId<Request>;
  private readonly hRetry: HandlerId<Request>;

  constructor(o: TrafficOptions) {
    this.sim = o.sim;
    this.cluster = o.cluster;
    this.network = o.network;
    this.metrics = o.metrics;
    this.profile = o.profile;
    this.dns = o.dns;
    this.duration = o.duration;
    this.window = o.fairnessWindow;
    this.dataPlaneRng = o.streams.get("data-plane");
    this.jitterRng = o.streams.get("data-plane/jitter");
    this.lbRng = o.streams.get("load-balancer");
    this.clusterCidr = parseCidr(o.cluster.resolved.state.clusterCIDR);

    const sim = o.sim;
    this.hArrival = sim.on<ClientRuntime>((_, c) => this.onArrival(c));
    this.hUser = sim.on<ClientRuntime>((user, c) => this.startRequest(c, user));
    this.hAtPod = sim.on<Request>((attempt, r) => attempt === r.attempt && this.atPod(r));
    this.hServiceDone = sim.on<Request>((_, r) => this.serviceDone(r));
    this.hResponse = sim.on<Request>((attempt, r) => attempt === r.attempt && this.response(r));
    // The argument packs the attempt and the cause, so a late failure of an old attempt is ignored.
    this.hFail = sim.on<Request>((packed, r) => {
      const attempt = Math.floor(packed / CAUSE_SLOTS);
      if (attempt === r.attempt) this.settleFailure(r, ERROR_CAUSES[packed % CAUSE_SLOTS]);
    });
    this.hTimeout = sim.on<Request>((attempt, r) => attempt === r.attempt && !r.settled && this.settleFailure(r, r.doomedBy ?? "timeout"));
    this.hRetry = sim.on<Request>((_, r) => this.startAttempt(r));

    this.buildClients(o.clients, o.streams);
  }

  private buildClients(specs: readonly ClientSpec[], streams: RandomStreams): void {
    const resolved = this.cluster.resolved;
    let external = 0;
    specs.forEach((spec, i) => {
      let nodeIndex = -1;
      let ip: number;
      if (spec.from.kind === "node") {
        const node = this.cluster.nodeByName.get(spec.from.node);
        nodeIndex = node ? node.index : -1;
        // The client runs in a pod of its own on that node.
        const addr = resolved.podIPs.allocate(spec.from.node);
        ip = addr === null ? (node?.ip ?? 0) : parseIPv4(addr);
      } else {
        ip = EXTERNAL_CLIENT_BASE + 1 + external++;
      }
      this.clients.push(new ClientRuntime(i, spec, nodeIndex, ip, streams));
    });
  }

  /** Schedules the clients' first requests. */
  start(): void {
    for (const c of this.clients) {
      if (c.arrival) {
        this.sim.schedule(c.arrival.firstGap(c.arrivals), this.hArrival, 0, c);
      } else if (c.thinkTime && c.spec.closedLoop) {
        for (let u = 0; u < c.spec.closedLoop.users; u++) this.sim.schedule(c.thinkTime.sample(c.arrivals), this.hUser, u, c);
      }
    }
  }

  private onArrival(c: ClientRuntime): void {
    this.startRequest(c, -1);
    const gap = c.arrival!.nextGap(c.arrivals);
    if (this.sim.now + gap < this.duration) this.sim.schedule(gap, this.hArrival, 0, c);
  }

  private startRequest(client: ClientRuntime, user: number): void {
    const now = this.sim.now;
    client.requestsStarted++;
    const r: Request = {
      client,
      user,
      startedAt: now,
      attempt: 0,
      attemptStart: now,
      conn: null,
      dns: 0,
      poolWait: 0,
      waitingSince: -1,
      connect: 0,
      network: 0,
      queuedAt: 0,
      serviceStart: 0,
      serviceNs: 0,
      timeoutEvent: 0 as EventId,
      settled: false,
      doomedBy: null,
    };
    this.startAttempt(r);
  }

  private startAttempt(r: Request): void {
    const now = this.sim.now;
    const c = r.client;
    r.attemptStart = now;
    r.settled = false;
    r.doomedBy = null;
    r.conn = null;
    r.dns = 0;
    r.connect = 0;
    r.network = 0;
    r.serviceNs = 0;
    r.timeoutEvent = this.sim.schedule(c.spec.timeout, this.hTimeout, r.attempt, r);
    const reuse = this.takeConnection(c, now);
    if (reuse) {
      reuse.inFlight++;
      this.send(r, reuse, 0);
      return;
    }
    const mode = c.spec.connection;
    if (mode === "keepalive" && c.open >= c.spec.keepalive.maxConnections) {
      // HTTP/1.1: one request at a time per connection; wait for one of the pool's.
      r.waitingSince = now;
      c.waiting.push(r);
      return;
    }
    this.openConnection(r);
  }

  /** A usable open connection of the client's pool, if any. */
  private takeConnection(c: ClientRuntime, now: Nanos): Connection | null {
    const mode = c.spec.connection;
    if (mode === "http2") {
      const h = c.h2;
      if (h && this.usable(h, c, now)) return h;
      if (h) this.close(h);
      return null;
    }
    if (mode !== "keepalive") return null;
    while (c.idle.length > 0) {
      const conn = c.idle.pop()!;
      if (this.usable(conn, c, now)) return conn;
      this.close(conn);
    }
    return null;
  }

  private usable(conn: Connection, c: ClientRuntime, now: Nanos): boolean {
    if (conn.closed) return false;
    // After SIGTERM the server closes idle keep-alive connections and sends HTTP/2 GOAWAY.
    if (conn.pod && !conn.pod.accepting) return false;
    if (c.spec.connection === "keepalive") {
      if (now - conn.lastUsed > c.spec.keepalive.idleTimeout && conn.inFlight === 0) return false;
      const max = c.spec.keepalive.maxRequestsPerConnection;
      if (max > 0 && conn.requests >= max) return false;
    }
    return true;
  }

  private close(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    const c = conn.client;
    c.open--;
    if (c.h2 === conn) c.h2 = null;
    if (conn.ingressNode >= 0) {
      this.cluster.nodes[conn.ingressNode].conntrack.setState(conn.id, this.sim.now, "TCP_TIME_WAIT");
    }
    // A slot in the pool is free: the first waiting request opens a connection.
    if (c.spec.connection === "keepalive" && c.waiting.length > 0 && c.open < c.spec.keepalive.maxConnections) {
      const next = c.waiting.shift()!;
      if (!next.settled) {
        this.stopWaiting(next);
        this.openConnection(next);
      }
    }
  }

  /** Opens a connection for `r`: DNS, the ingress node's data plane, the handshake. */
  private openConnection(r: Request): void {
    const c = r.client;
    const target = c.spec.target;
    let dstIP: number;
    let dstPort = target.port;
    let elapsed = 0;
    let externalHost = false;
    if (target.kind === "dns") {
      const answer = this.dns.resolve(c, target.name, this.metrics.measured(r.startedAt));
      r.dns = answer.delay;
      elapsed += answer.delay;
      if (answer.kind === "nxdomain" || answer.kind === "error") {
        this.failAfter(r, answer.kind === "nxdomain" ? "nxdomain" : "timeout", elapsed);
        return;
      }
      if (answer.kind === "external") {
        externalHost = true;
        dstIP = 0;
      } else {
        dstIP = answer.ip;
      }
    } else if (target.kind === "address") {
      dstIP = c.targetIP ??= parseIPv4(target.ip);
    } else if (target.kind === "nodePort") {
      const node = this.cluster.nodeByName.get(target.node);
      dstIP = node ? node.ip : 0;
    } else {
      const svc = this.cluster.serviceByKey.get(`${target.namespace}/${target.service}`);
      const ingress = svc?.loadBalancerIngress[0];
      if (!svc || ingress === undefined) {
        this.failAfter(r, "unreachable", 0);
        return;
      }
      dstIP = c.targetIP ??= parseIPv4(ingress);
      dstPort = target.port;
    }

    c.open++;
    const conn: Connection = {
      id: ++this.connectionIds,
      client: c,
      pod: null,
      ingressNode: -1,
      viaLB: false,
      podNode: -1,
      requests: 0,
      inFlight: 0,
      lastUsed: this.sim.now,
      closed: false,
      snat: false,
    };
    if (c.spec.connection === "http2") c.h2 = conn;
    r.conn = conn;
    conn.inFlight++;
    if (this.metrics.measured(r.startedAt)) this.metrics.connections++;

    if (externalHost) {
      // An ExternalName's host (or any host outside the cluster): no kube-proxy on the way.
      const rtt = 2 * this.network.internetToLB();
      r.connect = rtt;
      this.send(r, conn, elapsed + rtt);
      return;
    }

    // Where the first packet meets a kube-proxy data plane.
    let ingress: NodeRuntime | undefined;
    let ingressKind: Packet["ingress"] = "local";
    let toIngress = 0;
    if (target.kind === "loadBalancer" && c.nodeIndex < 0) {
      ingress = this.pickLoadBalancerNode(`${target.namespace}/${target.service}`);
      if (!ingress) {
        this.failAfter(r, "unreachable", elapsed);
        return;
      }
      conn.viaLB = true;
      ingressKind = "external";
      toIngress = this.network.internetToLB() + this.network.lbToNode();
    } else if (target.kind === "nodePort") {
      ingress = this.cluster.nodeByName.get(target.node);
      ingressKind = c.nodeIndex === ingress?.index ? "local" : "external";
      toIngress = c.nodeIndex < 0 ? this.network.externalToNode() : this.network.betweenNodes(c.nodeIndex, ingress!.index);
    } else if (c.nodeIndex >= 0) {
      ingress = this.cluster.nodes[c.nodeIndex];
    }
    if (!ingress || ingress.failed) {
      this.doom(r, "unreachable");
      return;
    }
    conn.ingressNode = ingress.index;

    const plane = ingress.sync.current();
    plane.setTime?.(this.sim.now);
    c.nextPort = (c.nextPort + 1) % 28_232;
    const packet: Packet = { srcIP: c.ip, srcPort: 32_768 + c.nextPort, dstIP, dstPort, protocol: "TCP", ingress: ingressKind };
    const verdict = plane.evaluate(packet, this.dataPlaneRng);
    const cost = firstPacketCostBreakdown(this.profile, plane.mode, verdict.work, plane.size());
    const dataPlane = (cost.total - cost.roundTrip) * sampleJitter(this.profile.firstPacket.jitter.workCv, this.jitterRng);
    if (this.metrics.measured(r.startedAt)) this.metrics.firstPacket.record(dataPlane / NS_PER_S);
    elapsed += toIngress + dataPlane;
    if (ingress.conntrack.insert(conn.id, this.sim.now, "TCP_SYN_SENT") === "dropped") {
      this.doom(r, "conntrack_full");
      return;
    }

    let endpointIP = dstIP;
    if (verdict.action === "reject") {
      // ICMP port unreachable from the ingress node: "connection refused" at once.
      this.failAfter(r, "no_endpoints", elapsed + toIngress);
      return;
    }
    if (verdict.action === "drop") {
      this.doom(r, "timeout");
      return;
    }
    if (verdict.action === "dnat") endpointIP = verdict.endpointIP ?? dstIP;
    conn.snat = verdict.masquerade;
    if (conn.snat && this.metrics.measured(r.startedAt)) this.metrics.snatConnections++;

    const pod = this.cluster.podByIP.get(endpointIP);
    if (!pod) {
      if (verdict.action === "dnat" && !cidrContains(this.clusterCidr, endpointIP)) {
        // A Service without a selector whose endpoint is outside the cluster.
        const rtt = 2 * this.network.internetToLB();
        r.connect = elapsed - r.dns + rtt;
        this.send(r, conn, elapsed + rtt);
        return;
      }
      this.doom(r, verdict.action === "none" ? "unreachable" : "timeout");
      return;
    }
    conn.pod = pod;
    conn.podNode = pod.nodeIndex;
    // `elapsed` has brought the SYN to the ingress node; it still goes on to the pod's node,
    // and the SYN-ACK comes back the whole way. (The request then takes one more trip: send.)
    const synToPod = pod.nodeIndex >= 0 ? this.network.betweenNodes(ingress.index, pod.nodeIndex) : 0;
    const back = this.oneWay(conn);
    if (!pod.alive) {
      // The address is gone: SYNs go unanswered until the client gives up.
      this.doom(r, "timeout");
      return;
    }
    if (!pod.accepting) {
      this.failAfter(r, "refused", elapsed + synToPod + back);
      return;
    }
    ingress.conntrack.setState(conn.id, this.sim.now, "TCP_ESTABLISHED");
    const handshake = synToPod + back;
    r.connect = elapsed - r.dns + handshake;
    this.send(r, conn, elapsed + handshake);
  }

  /** One-way latency along a connection's path, sampled per message. */
  private oneWay(conn: Connection): Nanos {
    const c = conn.client;
    if (conn.pod === null) return this.network.internetToLB();
    let t = 0;
    let at: number;
    if (conn.viaLB) {
      t += this.network.internetToLB() + this.network.lbToNode();
      at = conn.ingressNode;
    } else if (c.nodeIndex < 0) {
      t += this.network.externalToNode();
      at = conn.ingressNode;
    } else {
      at = c.nodeIndex;
      if (conn.ingressNode >= 0 && conn.ingressNode !== at) {
        t += this.network.betweenNodes(at, conn.ingressNode);
        at = conn.ingressNode;
      }
    }
    return t + this.network.betweenNodes(at, conn.podNode);
  }

  private pickLoadBalancerNode(serviceKey: string): NodeRuntime | undefined {
    const svc = this.cluster.serviceByKey.get(serviceKey);
    const local = svc?.externalTrafficPolicy === "Local";
    // The cloud LB spreads connections evenly over nodes that pass its health check: all
    // nodes, or with externalTrafficPolicy Local only those with a ready local endpoint.
    const healthy = this.cluster.nodes.filter((n) => !n.failed && (!local || this.cluster.hasLocalReadyEndpoint(n, serviceKey)));
    if (healthy.length === 0) return undefined;
    return healthy[Math.floor(this.lbRng.next() * healthy.length)];
  }

  /** Sends the request on an open connection, `delay` from now. */
  private send(r: Request, conn: Connection, delay: Nanos): void {
    r.conn = conn;
    const hop = this.oneWay(conn) + this.profile.firstPacket.conntrackLookupNs;
    r.network += hop;
    this.sim.schedule(delay + hop, this.hAtPod, r.attempt, r);
  }

  private atPod(r: Request): void {
    const conn = r.conn!;
    const pod = conn.pod;
    const now = this.sim.now;
    if (pod === null) {
      // An external host answers at once; its own latency is the round trip.
      r.serviceStart = now;
      r.queuedAt = now;
      this.sim.schedule(0, this.hServiceDone, 0, r);
      return;
    }
    if (!pod.alive || pod.phase === "exited" || pod.phase === "crashed") {
      // The pod died under an open connection: the client sees a reset (or, if the address is
      // gone altogether, nothing until its timeout).
      if (pod.alive) this.failAfter(r, "reset", this.oneWay(conn));
      else this.doom(r, "reset");
      return;
    }
    r.queuedAt = now;
    const admit = pod.admit();
    if (admit === "overflow") {
      this.failAfter(r, "overload", this.oneWay(conn));
      return;
    }
    if (admit === "queue") pod.enqueue(r);
    else this.beginService(pod, r);
  }

  private beginService(pod: PodRuntime, r: Request): void {
    const now = this.sim.now;
    pod.busy++;
    pod.inService.add(r);
    r.serviceStart = now;
    const service = pod.serviceTime.sample(r.client.arrivals);
    r.serviceNs = service;
    if (now >= this.metrics.warmup) pod.busyNs += service;
    this.sim.schedule(service, this.hServiceDone, 0, r);
  }

  private serviceDone(r: Request): void {
    const pod = r.conn?.pod ?? null;
    const now = this.sim.now;
    if (pod !== null) {
      if (!pod.inService.delete(r)) return; // killed meanwhile
      pod.busy--;
      if (r.serviceStart >= this.metrics.warmup) {
        pod.requests++;
        const w = Math.floor((now - this.metrics.warmup) / this.window);
        while (pod.windowRequests.length <= w) pod.windowRequests.push(0);
        pod.windowRequests[w]++;
      }
      const next = pod.dequeue() as Request | undefined;
      if (next) this.beginService(pod, next);
      this.cluster.jobFinished(pod);
    }
    const back = r.conn ? this.oneWay(r.conn) : 0;
    r.network += back;
    this.sim.schedule(back, this.hResponse, r.attempt, r);
  }

  private response(r: Request): void {
    if (r.settled) return;
    r.settled = true;
    this.sim.cancel(r.timeoutEvent);
    const now = this.sim.now;
    if (this.metrics.measured(r.startedAt)) {
      this.metrics.requests++;
      this.metrics.recordSuccess({
        total: now - r.startedAt,
        poolWait: r.poolWait,
        dns: r.dns,
        connect: r.connect,
        network: r.network,
        queue: r.serviceStart - r.queuedAt,
        service: r.serviceNs,
      });
    }
    this.release(r, true);
    this.next(r);
  }

  /** Returns the request's connection to the pool (or closes it). */
  private release(r: Request, ok: boolean): void {
    const conn = r.conn;
    r.conn = null;
    if (!conn) return;
    conn.inFlight = Math.max(0, conn.inFlight - 1);
    conn.requests++;
    conn.lastUsed = this.sim.now;
    const c = conn.client;
    const mode = c.spec.connection;
    if (mode === "new" || !ok) {
      if (mode === "http2" && ok) return;
      if (conn.inFlight === 0) this.close(conn);
      else if (c.h2 === conn) c.h2 = null;
      return;
    }
    if (mode === "http2") return;
    if (!this.usable(conn, c, this.sim.now)) {
      this.close(conn);
      return;
    }
    const waiter = c.waiting.shift();
    if (waiter) {
      if (!waiter.settled) {
        this.stopWaiting(waiter);
        conn.inFlight++;
        this.send(waiter, conn, 0);
      } else c.idle.push(conn);
      return;
    }
    c.idle.push(conn);
  }

  private stopWaiting(r: Request): void {
    if (r.waitingSince >= 0) r.poolWait += this.sim.now - r.waitingSince;
    r.waitingSince = -1;
  }

  /** The attempt cannot succeed: it fails at its timeout, with this cause. */
  private doom(r: Request, cause: ErrorCause): void {
    r.doomedBy = cause;
    this.doomed.add(r);
  }

  /**
   * At the end of the run: attempts already known to fail (an unanswered SYN, a dead address)
   * whose timeout falls after the end are counted as the errors they are, so that a short run
   * does not miss them. Requests merely in flight are not counted.
   */
  finish(): void {
    for (const r of this.doomed) {
      if (r.settled || !this.metrics.measured(r.startedAt) || r.doomedBy === null) continue;
      this.metrics.requests++;
      this.metrics.recordError(r.doomedBy);
    }
    this.doomed.clear();
  }

  private failAfter(r: Request, cause: ErrorCause, delay: Nanos): void {
    this.sim.schedule(delay, this.hFail, r.attempt * CAUSE_SLOTS + ERROR_CAUSES.indexOf(cause), r);
  }

  private settleFailure(r: Request, cause: ErrorCause): void {
    if (r.settled) return;
    r.settled = true;
    this.doomed.delete(r);
    this.sim.cancel(r.timeoutEvent);
    this.release(r, false);
    if (r.attempt < r.client.spec.retries && this.sim.now < this.duration && this.retryAllowed(r.client)) {
      r.client.retriesIssued++;
      r.attempt++;
      if (this.metrics.measured(r.startedAt)) this.metrics.retries++;
      this.sim.schedule(RETRY_BASE * 2 ** (r.attempt - 1), this.hRetry, 0, r);
      return;
    }
    if (this.metrics.measured(r.startedAt)) {
      this.metrics.requests++;
      this.metrics.recordError(cause);
    }
    this.next(r);
  }

  /** Within the client's retry budget (a fraction of its requests, plus 10), if it has one. */
  private retryAllowed(c: ClientRuntime): boolean {
    const budget = c.spec.retryBudget;
    return budget === undefined || c.retriesIssued < budget * c.requestsStarted + 10;
  }

  /** A closed-loop user thinks, then sends again. */
  private next(r: Request): void {
    const c = r.client;
    if (r.user < 0 || !c.thinkTime) return;
    const think = c.thinkTime.sample(c.arrivals);
    if (this.sim.now + think < this.duration) this.sim.schedule(think, this.hUser, r.user, c);
  }

  /** The pod was killed with work in hand: those requests see a reset. */
  podKilled(pod: PodRuntime): void {
    const victims = [...pod.inService, ...(pod.drainQueue() as Request[])];
    pod.inService.clear();
    pod.busy = 0;
    for (const r of victims as Request[]) {
      if (!r.settled) this.settleFailure(r, "reset");
    }
  }
}
