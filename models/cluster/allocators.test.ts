import { describe, expect, test } from "vitest";
import { NodePodIPAM, NodePortAllocator, ServiceIPAllocator } from "./allocators.js";
import { deterministicUid, nameSuffix, podTemplateHash } from "./names.js";

describe("ServiceIPAllocator", () => {
  test("a /12: dynamic allocation starts above the 256-address static band", () => {
    const a = new ServiceIPAllocator("10.96.0.0/12");
    expect(a.capacity).toBe(2 ** 20 - 2);
    expect(a.allocate("x")).toBe("10.96.1.1");
    expect(a.allocate("y")).toBe("10.96.1.2");
    expect(a.nthAddress(10)).toBe("10.96.0.10");
  });

  test("a /24: the static band is 16 addresses", () => {
    const a = new ServiceIPAllocator("10.0.0.0/24");
    expect(a.allocate("x")).toBe("10.0.0.17");
  });

  test("a /30: two addresses (no network, no broadcast), then exhausted", () => {
    const a = new ServiceIPAllocator("10.96.0.0/30");
    expect(a.capacity).toBe(2);
    expect(a.reserve("10.96.0.0", "n")).toEqual({ ok: false, reason: "outside" });
    expect(a.reserve("10.96.0.3", "b")).toEqual({ ok: false, reason: "outside" });
    expect(a.allocate("x")).toBe("10.96.0.1");
    expect(a.allocate("y")).toBe("10.96.0.2");
    expect(a.allocate("z")).toBeNull();
    a.release("10.96.0.1");
    expect(a.allocate("z")).toBe("10.96.0.1");
  });

  test("a taken address names its owner; the upper band falls back to the lower one when full", () => {
    const a = new ServiceIPAllocator("10.0.0.0/27"); // 30 addresses, static band 16
    expect(a.reserve("10.0.0.5", "svc-a")).toEqual({ ok: true });
    expect(a.reserve("10.0.0.5", "svc-b")).toEqual({ ok: false, reason: "taken", owner: "svc-a" });
    const got = Array.from({ length: 29 }, (_, i) => a.allocate(`s${i}`));
    expect(got.slice(0, 14)).toEqual(Array.from({ length: 14 }, (_, i) => `10.0.0.${17 + i}`));
    expect(got[14]).toBe("10.0.0.1");
    expect(got).not.toContain("10.0.0.5");
    expect(a.allocate("more")).toBeNull();
  });
});

describe("NodePortAllocator", () => {
  test("the default range starts dynamic allocation at 30086 (static band of 86)", () => {
    const a = new NodePortAllocator(30000, 32767);
    expect(a.capacity).toBe(2768);
    expect(a.allocate("a")).toBe(30086);
    expect(a.reserve(30000, "b")).toEqual({ ok: true });
    expect(a.reserve(30000, "c")).toEqual({ ok: false, reason: "taken", owner: "b" });
    expect(a.reserve(29999, "c")).toEqual({ ok: false, reason: "outside" });
  });

  test("one owner may hold a port for two protocols, not twice for one", () => {
    const a = new NodePortAllocator(30000, 32767);
    expect(a.reserve(30053, "dns", "UDP").ok).toBe(true);
    expect(a.reserve(30053, "dns", "TCP").ok).toBe(true);
    expect(a.reserve(30053, "dns", "TCP").ok).toBe(false);
  });
});

describe("NodePodIPAM", () => {
  test("host-local style: from .2, skipping the gateway and broadcast, not reusing a freed IP at once", () => {
    const ipam = new NodePodIPAM("10.244.1.0/24");
    expect(ipam.capacity).toBe(253);
    expect(ipam.allocate()).toBe("10.244.1.2");
    expect(ipam.allocate()).toBe("10.244.1.3");
    ipam.release("10.244.1.2");
    expect(ipam.allocate()).toBe("10.244.1.4");
    for (let i = 0; i < 250; i++) ipam.allocate();
    expect(ipam.allocate()).toBe("10.244.1.2"); // wrapped around to the freed one
    expect(ipam.allocate()).toBeNull();
  });
});

describe("generated names", () => {
  test("are deterministic and look like Kubernetes'", () => {
    expect(nameSuffix("a")).toBe(nameSuffix("a"));
    expect(nameSuffix("a")).not.toBe(nameSuffix("b"));
    expect(nameSuffix("a")).toMatch(/^[bcdfghjkmnpqrstvwxz2456789]{5}$/);
    expect(podTemplateHash({ x: 1 })).toMatch(/^[bcdfghjkmnpqrstvwxz2456789]{1,10}$/);
    expect(podTemplateHash({ x: 1, y: 2 })).toBe(podTemplateHash({ y: 2, x: 1 }));
    expect(podTemplateHash({ x: 1 }, 1)).not.toBe(podTemplateHash({ x: 1 }));
    expect(deterministicUid("Pod/default/a")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
