import { describe, expect, it } from "vitest";
import { NS_PER_S } from "../../sim/time.js";
import {
  ConntrackTable,
  DEFAULT_CONNTRACK_TIMEOUTS,
  KUBE_PROXY_CONNTRACK_MAX_PER_CORE,
  KUBE_PROXY_CONNTRACK_MIN,
  conntrackMax,
} from "./conntrack.js";

const s = (x: number): number => x * NS_PER_S;

describe("defaults", () => {
  it("sizes the table as kube-proxy does: max(min, maxPerCore × cores)", () => {
    expect(KUBE_PROXY_CONNTRACK_MAX_PER_CORE).toBe(32_768);
    expect(KUBE_PROXY_CONNTRACK_MIN).toBe(131_072);
    expect(conntrackMax(2)).toBe(131_072);
    expect(conntrackMax(4)).toBe(131_072);
    expect(conntrackMax(8)).toBe(262_144);
    expect(conntrackMax(2, 100_000, 1000)).toBe(200_000);
    expect(new ConntrackTable().maxEntries).toBe(131_072);
    expect(new ConntrackTable({ cores: 16 }).maxEntries).toBe(524_288);
    expect(() => conntrackMax(0)).toThrow(RangeError);
  });

  it("uses kube-proxy's TCP timeouts and the kernel's UDP ones", () => {
    expect(DEFAULT_CONNTRACK_TIMEOUTS.TCP_ESTABLISHED).toBe(s(86_400));
    expect(DEFAULT_CONNTRACK_TIMEOUTS.TCP_CLOSE_WAIT).toBe(s(3_600));
    expect(DEFAULT_CONNTRACK_TIMEOUTS.TCP_TIME_WAIT).toBe(s(120));
    expect(DEFAULT_CONNTRACK_TIMEOUTS.UDP_UNREPLIED).toBe(s(30));
    expect(DEFAULT_CONNTRACK_TIMEOUTS.UDP_STREAM).toBe(s(120));
  });
});

describe("timeouts", () => {
  it("expires a UDP entry 30 s after its last packet, not before", () => {
    const ct = new ConntrackTable();
    expect(ct.insert("u1", 0, "UDP_UNREPLIED", "10.244.1.5:53")).toBe("inserted");
    expect(ct.lookup("u1", s(29.999))).toBeDefined();
    expect(ct.lookup("u1", s(30))).toBeUndefined(); // due at exactly 30 s
    expect(ct.stats(s(30)).expired).toBe(1);
  });

  it("restarts the timeout on every packet (a busy UDP flow never expires)", () => {
    const ct = new ConntrackTable();
    ct.insert("u1", 0, "UDP_UNREPLIED", "10.244.1.5:53");
    for (let t = 10; t <= 300; t += 10) expect(ct.packet("u1", s(t))?.endpoint).toBe("10.244.1.5:53");
    expect(ct.size(s(329))).toBe(1);
    expect(ct.size(s(330))).toBe(0);
  });

  it("gives each state its own timeout: stream UDP 120 s, TCP time-wait 120 s, established 24 h", () => {
    const ct = new ConntrackTable();
    ct.insert("udp", 0, "UDP_UNREPLIED", "a:1");
    ct.insert("tcp", 0, "TCP_SYN_SENT", "b:2");
    ct.insert("closing", 0, "TCP_ESTABLISHED", "c:3");
    ct.setState("udp", s(1), "UDP_STREAM");
    ct.setState("tcp", s(1), "TCP_ESTABLISHED");
    ct.setState("closing", s(2), "TCP_TIME_WAIT");
    expect(ct.lookup("udp", s(120))).toBeDefined();
    expect(ct.lookup("udp", s(121))).toBeUndefined();
    expect(ct.lookup("closing", s(121.9))).toBeDefined();
    expect(ct.lookup("closing", s(122))).toBeUndefined();
    expect(ct.lookup("tcp", s(86_400))).toBeDefined();
    expect(ct.lookup("tcp", s(86_401))).toBeUndefined();
  });

  it("honours overridden timeouts", () => {
    const ct = new ConntrackTable({ timeouts: { UDP_UNREPLIED: s(5) } });
    ct.insert(1, 0, "UDP_UNREPLIED");
    expect(ct.timeoutOf("UDP_UNREPLIED")).toBe(s(5));
    expect(ct.size(s(5))).toBe(0);
  });

  it("refuses time going backwards", () => {
    const ct = new ConntrackTable();
    ct.size(s(10));
    expect(() => ct.size(s(9))).toThrow(RangeError);
  });
});

describe("maximum and drops", () => {
  it("drops new connections when full of assured entries, and counts them", () => {
    const ct = new ConntrackTable({ maxEntries: 3 });
    for (let i = 0; i < 3; i++) expect(ct.insert(i, s(i), "TCP_ESTABLISHED", "e:1")).toBe("inserted");
    expect(ct.insert(99, s(4), "TCP_SYN_SENT", "e:1")).toBe("dropped");
    expect(ct.insert(100, s(5), "UDP_UNREPLIED", "e:1")).toBe("dropped");
    const st = ct.stats(s(5));
    expect(st.drops).toBe(2);
    expect(st.entries).toBe(3);
    expect(st.peak).toBe(3);
  });

  it("evicts the oldest not-assured entry first (early drop), unless told not to", () => {
    const ct = new ConntrackTable({ maxEntries: 3 });
    ct.insert("old-udp", s(0), "UDP_UNREPLIED", "dns:53");
    ct.insert("est", s(1), "TCP_ESTABLISHED", "web:80");
    ct.insert("newer-udp", s(2), "UDP_UNREPLIED", "dns:53");
    expect(ct.insert("new", s(3), "TCP_SYN_SENT", "web:80")).toBe("inserted");
    expect(ct.lookup("old-udp", s(3))).toBeUndefined();
    expect(ct.lookup("newer-udp", s(3))).toBeDefined();
    expect(ct.stats(s(3)).earlyDrops).toBe(1);

    const strict = new ConntrackTable({ maxEntries: 1, earlyDrop: false });
    strict.insert("a", 0, "UDP_UNREPLIED");
    expect(strict.insert("b", 1, "UDP_UNREPLIED")).toBe("dropped");
  });

  it("accepts new connections again once entries expire", () => {
    const ct = new ConntrackTable({ maxEntries: 2, earlyDrop: false });
    ct.insert("a", 0, "UDP_UNREPLIED");
    ct.insert("b", 0, "UDP_UNREPLIED");
    expect(ct.insert("c", s(10), "UDP_UNREPLIED")).toBe("dropped");
    expect(ct.insert("c", s(30), "UDP_UNREPLIED")).toBe("inserted");
  });

  it("leaves an existing key alone", () => {
    const ct = new ConntrackTable();
    ct.insert("a", 0, "TCP_ESTABLISHED", "x:1");
    expect(ct.insert("a", 5, "UDP_UNREPLIED", "y:2")).toBe("exists");
    expect(ct.lookup("a", 5)?.endpoint).toBe("x:1");
  });
});

describe("stale entries to removed endpoints", () => {
  it("keep steering a UDP flow to a gone endpoint until they expire", () => {
    const ct = new ConntrackTable();
    // A client keeps querying the old DNS pod every second; the pod is deleted at t = 10 s.
    ct.insert("client->dns", 0, "UDP_UNREPLIED", "10.244.1.5:53");
    ct.setState("client->dns", s(0.001), "UDP_REPLIED");
    for (let t = 1; t <= 60; t++) {
      const e = ct.packet("client->dns", s(t));
      expect(e?.endpoint).toBe("10.244.1.5:53"); // still the old pod, even after it is gone
    }
    expect(ct.entriesTo("10.244.1.5:53", s(60))).toBe(1);
    // Once the client stops, the entry expires 30 s after its last packet.
    expect(ct.entriesTo("10.244.1.5:53", s(90))).toBe(0);
  });

  it("counts entries per endpoint and can delete them (kube-proxy's UDP cleanup)", () => {
    const ct = new ConntrackTable();
    ct.insert("u1", 0, "UDP_UNREPLIED", "10.0.0.1:53");
    ct.insert("u2", 0, "UDP_UNREPLIED", "10.0.0.1:53");
    ct.insert("t1", 0, "TCP_ESTABLISHED", "10.0.0.1:53");
    ct.insert("u3", 0, "UDP_UNREPLIED", "10.0.0.2:53");
    expect(ct.entriesTo("10.0.0.1:53", 1)).toBe(3);
    expect(ct.deleteEntriesTo("10.0.0.1:53", 2, "UDP")).toBe(2);
    expect(ct.entriesTo("10.0.0.1:53", 2)).toBe(1); // the TCP one stays
    expect(ct.entriesTo("10.0.0.2:53", 2)).toBe(1);
    expect(ct.delete("t1", 3)).toBe(true);
    expect(ct.entriesTo("10.0.0.1:53", 3)).toBe(0);
    expect(ct.stats(3).deleted).toBe(3);
  });
});

describe("occupancy statistics", () => {
  it("integrates occupancy exactly, counting an expired entry only until its expiry", () => {
    const ct = new ConntrackTable({ maxEntries: 10 }, 0);
    ct.insert("a", 0, "UDP_UNREPLIED"); // lives [0, 30)
    ct.insert("b", s(10), "UDP_UNREPLIED"); // lives [10, 40)
    // Nothing touches the table until t = 100: both expired lazily.
    const st = ct.stats(s(100));
    expect(st.entries).toBe(0);
    expect(st.expired).toBe(2);
    // (30 + 30) entry-seconds over 100 s.
    expect(st.meanEntries).toBeCloseTo(0.6, 9);
    expect(st.meanOccupancy).toBeCloseTo(0.06, 9);
    expect(st.peak).toBe(2);
  });

  it("counts lookups and hits", () => {
    const ct = new ConntrackTable();
    ct.lookup("x", 0);
    ct.insert("x", 0, "TCP_SYN_SENT");
    ct.packet("x", 1);
    const st = ct.stats(1);
    expect(st.lookups).toBe(2);
    expect(st.hits).toBe(1);
    expect(st.inserts).toBe(1);
  });
});

describe("bounded memory", () => {
  it("keeps its expiry records proportional to the table under many refreshes", () => {
    const ct = new ConntrackTable();
    for (let k = 0; k < 100; k++) ct.insert(k, 0, "TCP_ESTABLISHED");
    let t = 0;
    for (let round = 0; round < 2000; round++) {
      t += 1000;
      for (let k = 0; k < 100; k++) ct.packet(k, t);
    }
    expect(ct.size(t)).toBe(100);
    expect(ct.queuedRecords).toBeLessThanOrEqual(2 * 100 + 1024);
  });

  it("handles churn of short-lived connections with a table that stays small", () => {
    const ct = new ConntrackTable();
    // 1000 connections a second for 5 minutes, each closed after 1 s (TIME_WAIT 120 s).
    let id = 0;
    for (let sec = 0; sec < 300; sec++) {
      for (let i = 0; i < 1000; i++) {
        const t = s(sec) + i * 1_000_000;
        if (id >= 1000) ct.setState(id - 1000, t, "TCP_TIME_WAIT");
        ct.insert(id, t, "TCP_SYN_SENT", "ep:80");
        ct.setState(id, t + 1, "TCP_ESTABLISHED");
        id++;
      }
    }
    const st = ct.stats(s(300));
    // About 120 s of TIME_WAIT at 1000/s, plus the last second's open ones.
    expect(st.entries).toBeGreaterThan(119_000);
    expect(st.entries).toBeLessThan(123_000);
    expect(st.drops).toBe(0);
    expect(ct.queuedRecords).toBeLessThanOrEqual(2 * st.entries + 1024);
  });
});
