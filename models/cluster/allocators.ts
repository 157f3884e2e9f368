/**
 * The API server's allocators, deterministic:
 *
 * - Service cluster IPs from --service-cluster-ip-range. As in the API server's bitmap
 *   allocator, the network address and (IPv4) the broadcast address are never handed out, and
 *   the range is split in a lower "static" band (min(max(16, size/16), 256) addresses) kept for
 *   explicit requests and an upper band for dynamic allocation, which falls back to the lower
 *   band when full. Kubernetes picks a random free address in the band; svcsim picks the lowest
 *   free one, so allocations depend only on the order of requests.
 * - NodePorts from --service-node-port-range, with the same two bands (min(max(16, size/32), 128)).
 * - LoadBalancer ingress IPs from a fake cloud's pool, lowest free first.
 * - Pod IPs per node from its podCIDR, like the host-local IPAM plugin: the network address,
 *   the gateway (.1) and the broadcast address are skipped, and allocation continues after the
 *   last address handed out (so a freed IP is not reused at once).
 */
import { formatIPv4, parseCidr, parseIPv4, tryParseIPv4 } from "../network/ip.js";
import type { Cidr } from "../network/ip.js";

export type ReserveResult = { ok: true } | { ok: false; reason: "outside" | "taken"; owner?: string };

function staticBandSize(size: number, min: number, max: number, step: number): number {
  if (size <= min) return 0;
  const offset = Math.floor(size / step);
  return offset < min ? min : offset > max ? max : offset;
}

/** A range of `size` slots (base+0 .. base+size-1) with a static lower band. */
class BandedRange {
  private readonly owners = new Map<number, string>();
  /** Per band, an offset below which every slot is known to be taken (keeps allocation O(1) amortized). */
  private readonly hint = [0, 0];
  constructor(
    readonly base: number,
    readonly size: number,
    readonly staticBand: number,
  ) {}

  get used(): number {
    return this.owners.size;
  }

  contains(value: number): boolean {
    return value >= this.base && value < this.base + this.size;
  }

  ownerOf(value: number): string | undefined {
    return this.owners.get(value);
  }

  reserve(value: number, owner: string): ReserveResult {
    if (!this.contains(value)) return { ok: false, reason: "outside" };
    const prev = this.owners.get(value);
    if (prev !== undefined) return { ok: false, reason: "taken", owner: prev };
    this.owners.set(value, owner);
    return { ok: true };
  }

  allocateNext(owner: string): number | null {
    const bands: [number, number][] = [
      [this.staticBand, this.size],
      [0, this.staticBand],
    ];
    for (let b = 0; b < 2; b++) {
      const [from, to] = bands[b];
      for (let i = Math.max(from, this.hint[b]); i < to; i++) {
        const v = this.base + i;
        if (!this.owners.has(v)) {
          this.owners.set(v, owner);
          this.hint[b] = i + 1;
          return v;
        }
      }
      this.hint[b] = to;
    }
    return null;
  }

  release(value: number): void {
    this.owners.delete(value);
    const i = value - this.base;
    const b = i >= this.staticBand ? 0 : 1;
    if (i < this.hint[b]) this.hint[b] = i;
  }
}

export class ServiceIPAllocator {
  readonly cidr: Cidr;
  private readonly range: BandedRange;

  constructor(cidrText: string) {
    this.cidr = parseCidr(cidrText);
    // Skip the network address, and the broadcast address for IPv4.
    const size = Math.max(0, this.cidr.size - 2);
    this.range = new BandedRange(this.cidr.base + 1, size, staticBandSize(this.cidr.size, 16, 256, 16));
  }

  /** Addresses that can be handed out at all. */
  get capacity(): number {
    return this.range.size;
  }

  get used(): number {
    return this.range.used;
  }

  /** The n-th address of the range (n = 10 gives kube-dns's conventional 10.96.0.10). */
  nthAddress(n: number): string | null {
    const v = this.cidr.base + n;
    return this.range.contains(v) ? formatIPv4(v) : null;
  }

  reserve(ip: string, owner: string): ReserveResult {
    const v = tryParseIPv4(ip);
    if (v === null) return { ok: false, reason: "outside" };
    return this.range.reserve(v, owner);
  }

  allocate(owner: string): string | null {
    const v = this.range.allocateNext(owner);
    return v === null ? null : formatIPv4(v);
  }

  release(ip: string): void {
    this.range.release(parseIPv4(ip));
  }
}

export class NodePortAllocator {
  private readonly range: BandedRange;
  /** Ports a Service holds, per protocol (one Service may use a port for TCP and UDP). */
  private readonly protocols = new Map<number, Set<string>>();

  constructor(
    readonly min: number,
    readonly max: number,
  ) {
    const size = max - min + 1;
    this.range = new BandedRange(min, size, staticBandSize(size, 16, 128, 32));
  }

  get capacity(): number {
    return this.range.size;
  }

  /**
   * Reserves `port` for `owner`. The same owner may hold a port for several protocols (a DNS
   * Service's 53/UDP and 53/TCP sharing one nodePort); anyone else conflicts.
   */
  reserve(port: number, owner: string, protocol = "TCP"): ReserveResult {
    const prev = this.range.ownerOf(port);
    if (prev !== undefined && prev === owner) {
      const protos = this.protocols.get(port) ?? new Set<string>();
      if (protos.has(protocol)) return { ok: false, reason: "taken", owner };
      protos.add(protocol);
      this.protocols.set(port, protos);
      return { ok: true };
    }
    const r = this.range.reserve(port, owner);
    if (r.ok) this.protocols.set(port, new Set([protocol]));
    return r;
  }

  allocate(owner: string, protocol = "TCP"): number | null {
    const v = this.range.allocateNext(owner);
    if (v !== null) this.protocols.set(v, new Set([protocol]));
    return v;
  }

  release(port: number): void {
    this.range.release(port);
    this.protocols.delete(port);
  }
}

/** The fake cloud's pool of load balancer addresses. */
export class LoadBalancerIPAllocator {
  readonly cidr: Cidr;
  private readonly range: BandedRange;

  constructor(cidrText: string) {
    this.cidr = parseCidr(cidrText);
    this.range = new BandedRange(this.cidr.base + 1, Math.max(0, this.cidr.size - 2), 0);
  }

  /** Any address may be requested (a cloud may honour loadBalancerIP outside its pool). */
  reserve(ip: string, owner: string): ReserveResult {
    const v = tryParseIPv4(ip);
    if (v === null) return { ok: false, reason: "outside" };
    if (!this.range.contains(v)) return { ok: true };
    return this.range.reserve(v, owner);
  }

  allocate(owner: string): string | null {
    const v = this.range.allocateNext(owner);
    return v === null ? null : formatIPv4(v);
  }
}

/** host-local IPAM for one node's podCIDR. */
export class NodePodIPAM {
  readonly cidr: Cidr;
  private readonly first: number;
  private readonly last: number;
  private readonly inUse = new Set<number>();
  private next: number;

  constructor(podCIDR: string) {
    this.cidr = parseCidr(podCIDR);
    this.first = this.cidr.base + 2;
    this.last = this.cidr.base + this.cidr.size - 2;
    this.next = this.first;
  }

  get capacity(): number {
    return Math.max(0, this.last - this.first + 1);
  }

  get used(): number {
    return this.inUse.size;
  }

  allocate(): string | null {
    const n = this.capacity;
    for (let i = 0; i < n; i++) {
      const v = this.first + ((this.next - this.first + i) % n);
      if (!this.inUse.has(v)) {
        this.inUse.add(v);
        this.next = v + 1 > this.last ? this.first : v + 1;
        return formatIPv4(v);
      }
    }
    return null;
  }

  release(ip: string): void {
    this.inUse.delete(parseIPv4(ip));
  }
}

/** Pod IPs for the whole cluster, per node. */
export class PodIPAllocator {
  private readonly nodes = new Map<string, NodePodIPAM>();

  addNode(nodeName: string, podCIDR: string): void {
    this.nodes.set(nodeName, new NodePodIPAM(podCIDR));
  }

  capacity(nodeName: string): number {
    return this.nodes.get(nodeName)?.capacity ?? 0;
  }

  allocate(nodeName: string): string | null {
    return this.nodes.get(nodeName)?.allocate() ?? null;
  }

  release(nodeName: string, ip: string): void {
    this.nodes.get(nodeName)?.release(ip);
  }
}
