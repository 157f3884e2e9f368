import { describe, expect, it } from "vitest";
import { base32Prefix16, endpointHash, portProtoHash } from "./hash.js";

describe("kube-proxy chain-name hash", () => {
  // Chain names kube-proxy's own tests expect (pkg/proxy/iptables/proxier_test.go).
  it.each([
    ["ns1/svc1:p80", "tcp", "XPGD46QRK7WJZT7O"],
    ["ns2/svc2:p80", "tcp", "GNZBNJ2PO5MGZ6GT"],
    ["ns3/svc3:p80", "tcp", "X27LE4BHSL4DOUIK"],
    ["ns4/svc4:p80", "tcp", "4SW47YFZTEDKD3PK"],
    ["ns5/svc5:p80", "tcp", "NUKIZ6OKUXPJNT4C"],
    ["ns2/svc2:p8080", "tcp", "2VJB64SDSIJUP5T6"],
  ])("portProtoHash(%s, %s) = %s", (name, proto, want) => {
    expect(portProtoHash(name, proto)).toBe(want);
  });

  it.each([
    ["ns1/svc1:p80", "10.180.0.1:80", "SXIVWICOYRO3J4NJ"],
    ["ns4/svc4:p80", "10.180.0.5:80", "C6EBXVWJJZMIWKLZ"],
    ["ns5/svc5:p80", "10.180.0.3:80", "I77PXRDZVX7PMWMN"],
    ["ns1/svc1:p80", "10.0.0.0:80", "DKGQUZGBKLTPAR56"],
    ["ns3/svc3:p8081", "203.0.113.4:8081", "RUVVH7YV3PHQBDOS"],
  ])("endpointHash(%s, tcp, %s) = %s", (name, ep, want) => {
    expect(endpointHash(name, "tcp", ep)).toBe(want);
  });

  it("encodes the RFC 4648 test vector prefix", () => {
    // base32("foobar") = "MZXW6YTBOI======"; pad to 10 bytes with zeros: "foobar\0\0\0\0".
    const bytes = new Uint8Array([0x66, 0x6f, 0x6f, 0x62, 0x61, 0x72, 0, 0, 0, 0]);
    expect(base32Prefix16(bytes)).toBe("MZXW6YTBOIAAAAAA");
  });
});

describe("sha256", () => {
  it("equals node:crypto on ASCII and non-ASCII strings of many lengths", async () => {
    const { createHash } = await import("node:crypto");
    const { sha256 } = await import("./hash.js");
    for (let n = 0; n < 300; n++) {
      for (const base of ["ns/svc-name:port-name", "é/ü:ß", "x"]) {
        const s = base.repeat(Math.ceil((n + 1) / base.length)).slice(0, n);
        expect(Buffer.from(sha256(s)).toString("hex")).toBe(createHash("sha256").update(s).digest("hex"));
      }
    }
    const long = "a".repeat(5000);
    expect(Buffer.from(sha256(long)).toString("hex")).toBe(createHash("sha256").update(long).digest("hex"));
  });
});

describe("chain hashes of non-ASCII and long names", () => {
  it("fall back to node:crypto with the same encoding", async () => {
    const { createHash } = await import("node:crypto");
    for (const name of ["ns/ünïcode:p", "ns/" + "x".repeat(2000) + ":p"]) {
      const want = base32Prefix16(createHash("sha256").update(name + "tcp" + "10.0.0.1:80").digest());
      expect(endpointHash(name, "tcp", "10.0.0.1:80")).toBe(want);
      expect(portProtoHash(name, "tcp")).toBe(base32Prefix16(createHash("sha256").update(name + "tcp").digest()));
    }
  });
});
