/**
 * The real kernel accepts what we render. As root, each test creates a network namespace
 * (svcsim-test-<pid>-<random>), loads the rendered rules of a mixed cluster into it with
 * `iptables-legacy-restore --noflush` (and `iptables-nft-restore --noflush` when installed), as
 * kube-proxy does, then a partial sync on top, and deletes the namespace afterwards. Nothing is
 * sent anywhere.
 *
 * It then reads the rules back with iptables-save and checks that they are ours: the same
 * number of rules per chain, and the same verdict and work from the interpreter for a set of
 * packets (iptables-save prints the kernel's normalized form of each rule).
 *
 * kube-proxy's `-m nfacct` rules need the nfacct counters to exist; kube-proxy creates them over
 * netlink. The test does the same with the `nfacct` tool or a few lines of python3 if either is
 * there; otherwise it loads a rendering without nfacct, checks the nfacct one with `--test`, and
 * says so.
 *
 * Without root or the binaries, the tests are skipped with a loud warning (CI runs them as root).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import type { ClusterState } from "../../cluster/types.js";
import { parseIPv4 } from "../../network/ip.js";
import type { Packet } from "../types.js";
import { compileIptables, interpretIptables, KUBE_PROXY_HOOK_RULES, prepareRuleset } from "./index.js";
import type { IptablesDataPlane } from "./index.js";
import { NFACCT_CT_STATE_INVALID, NFACCT_LOCALHOST_NODEPORTS } from "./options.js";
import { parseIptablesRestore } from "./parse.js";
import { ReplayRandom, TEST_NODE_IP, TEST_NODE_NAME, tcpPort, testCluster, testService, testSlice } from "./testing.js";

function run(cmd: string, args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { input, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status ?? (r.error ? 127 : 1), stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}

function has(binary: string): boolean {
  return run("sh", ["-c", `command -v ${binary}`]).status === 0;
}

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const TOOLS = [
  { name: "legacy", restore: "iptables-legacy-restore", save: "iptables-legacy-save" },
  { name: "nft", restore: "iptables-nft-restore", save: "iptables-nft-save" },
].filter((t) => has(t.restore) && has(t.save));
let skipReason = "";
if (!isRoot) skipReason = "not running as root (network namespaces and iptables need CAP_NET_ADMIN)";
else if (!has("ip")) skipReason = "the `ip` command (iproute2) is not installed";
else if (TOOLS.length === 0) skipReason = "neither iptables-legacy-restore nor iptables-nft-restore is installed";
if (skipReason !== "") {
  console.warn(
    `\n*** iptables KERNEL-ACCEPTANCE TEST SKIPPED: ${skipReason}. ***\n` +
      "*** The rendered rules were NOT loaded into a kernel. CI runs this as root with iptables installed. ***\n",
  );
}

/** Every kind of Service: ClusterIP, NodePort, LoadBalancer with source ranges, Local policies, affinity, no endpoints, multi-port. */
function mixedCluster(): ClusterState {
  const here = TEST_NODE_NAME;
  return testCluster(
    [
      testService("ns1", "clusterip", { clusterIP: "172.30.0.41", ports: [tcpPort("http", 80)] }),
      testService("ns1", "nodeport", { type: "NodePort", clusterIP: "172.30.0.42", ports: [tcpPort("http", 80, 30080)] }),
      testService("ns2", "lb-ranges", {
        type: "LoadBalancer",
        clusterIP: "172.30.0.43",
        ports: [tcpPort("https", 443, 30443)],
        loadBalancerIngress: ["1.2.3.4", "5.6.7.8"],
        loadBalancerSourceRanges: ["192.168.0.0/24", "203.0.113.0/25"],
      }),
      testService("ns2", "lb-local", {
        type: "LoadBalancer",
        externalTrafficPolicy: "Local",
        clusterIP: "172.30.0.44",
        ports: [tcpPort("http", 80, 30081)],
        loadBalancerIngress: ["9.10.11.12"],
        externalIPs: ["192.168.99.11"],
        healthCheckNodePort: 30200,
      }),
      testService("ns2", "lb-local-none-here", {
        type: "LoadBalancer",
        externalTrafficPolicy: "Local",
        clusterIP: "172.30.0.45",
        ports: [tcpPort("http", 80, 30082)],
        loadBalancerIngress: ["9.10.11.13"],
        healthCheckNodePort: 30201,
      }),
      testService("ns3", "internal-local", { internalTrafficPolicy: "Local", clusterIP: "172.30.0.46", ports: [tcpPort("http", 80)] }),
      testService("ns3", "internal-local-none-here", { internalTrafficPolicy: "Local", clusterIP: "172.30.0.47", ports: [tcpPort("http", 80)] }),
      testService("ns3", "sticky", {
        clusterIP: "172.30.0.48",
        ports: [tcpPort("http", 80)],
        sessionAffinity: "ClientIP",
        sessionAffinityTimeoutSeconds: 10800,
      }),
      testService("ns4", "empty", { type: "LoadBalancer", clusterIP: "172.30.0.49", ports: [tcpPort("http", 80, 30083)], loadBalancerIngress: ["9.10.11.14"] }),
      testService("ns4", "multi", {
        type: "NodePort",
        clusterIP: "172.30.0.50",
        ports: [
          tcpPort("http", 80, 30090),
          { name: "dns", protocol: "UDP", port: 53, targetPort: 5353, nodePort: 30053 },
          { name: "sig", protocol: "SCTP", port: 9000, targetPort: 9000, nodePort: 30900 },
        ],
      }),
    ],
    [
      testSlice("ns1", "clusterip", [{ ip: "10.180.0.1" }, { ip: "10.180.1.1", node: here }, { ip: "10.180.2.1" }], [{ name: "http", port: 8080 }]),
      testSlice("ns1", "nodeport", [{ ip: "10.180.0.2", node: here }], [{ name: "http", port: 8080 }]),
      testSlice("ns2", "lb-ranges", [{ ip: "10.180.0.3" }, { ip: "10.180.0.4" }], [{ name: "https", port: 8443 }]),
      testSlice("ns2", "lb-local", [{ ip: "10.180.0.5", node: here }, { ip: "10.180.0.6", node: "node2" }], [{ name: "http", port: 8080 }]),
      testSlice("ns2", "lb-local-none-here", [{ ip: "10.180.0.7", node: "node2" }], [{ name: "http", port: 8080 }]),
      testSlice("ns3", "internal-local", [{ ip: "10.180.0.8", node: here }, { ip: "10.180.0.9", node: "node2" }], [{ name: "http", port: 8080 }]),
      testSlice("ns3", "internal-local-none-here", [{ ip: "10.180.0.10", node: "node2" }], [{ name: "http", port: 8080 }]),
      testSlice("ns3", "sticky", [{ ip: "10.180.0.11" }, { ip: "10.180.0.12" }], [{ name: "http", port: 8080 }]),
      testSlice(
        "ns4",
        "multi",
        [{ ip: "10.180.0.13", node: here }, { ip: "10.180.0.14", terminating: true, ready: false, serving: true }],
        [
          { name: "http", port: 8080 },
          { name: "dns", port: 5353, protocol: "UDP" },
          { name: "sig", port: 9000, protocol: "SCTP" },
        ],
      ),
    ],
  );
}

/** Creates the nfacct counters kube-proxy's rules name, inside the namespace, if a tool allows it. */
const NFACCT_PY = `
import socket, struct, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
s.bind((0, 0))
for seq, name in enumerate(sys.argv[1:], 1):
    n = name.encode() + b"\\0"
    a = struct.pack("=HH", 4 + len(n), 1) + n + b"\\0" * ((4 - (4 + len(n)) % 4) % 4)  # NFACCT_NAME
    body = struct.pack("=BBH", 0, 0, 0) + a  # nfgenmsg
    # NFNL_SUBSYS_ACCT << 8 | NFNL_MSG_ACCT_NEW; NLM_F_REQUEST|NLM_F_ACK|NLM_F_CREATE
    s.send(struct.pack("=IHHII", 16 + len(body), 7 << 8, 0x405, seq, 0) + body)
    if struct.unpack("=i", s.recv(4096)[16:20])[0] != 0:
        sys.exit("nfacct: cannot create " + name)
`;

function createNfacctCounters(ns: string): string | null {
  const names = [NFACCT_CT_STATE_INVALID, NFACCT_LOCALHOST_NODEPORTS];
  if (has("nfacct")) {
    for (const name of names) if (run("ip", ["netns", "exec", ns, "nfacct", "add", name]).status !== 0) return null;
    return "nfacct";
  }
  if (has("python3") && run("ip", ["netns", "exec", ns, "python3", "-c", NFACCT_PY, ...names]).status === 0) return "python3 netlink";
  return null;
}

/** Rules per chain (KUBE-* only), from iptables-restore or iptables-save text. */
function rulesPerChain(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [tname, table] of parseIptablesRestore(text).tables) {
    for (const [cname, chain] of table.chains) {
      if (cname.startsWith("KUBE-")) out.set(`${tname}/${cname}`, chain.rules.length);
    }
  }
  return out;
}

function samplePackets(): Packet[] {
  const sources = ["10.0.0.2", "10.180.0.1", TEST_NODE_IP, "127.0.0.1", "203.0.113.2", "203.0.113.200", "1.2.3.4"];
  const targets: [string, number, Packet["protocol"]][] = [
    ["172.30.0.41", 80, "TCP"], ["172.30.0.42", 80, "TCP"], ["172.30.0.43", 443, "TCP"], ["1.2.3.4", 443, "TCP"],
    ["5.6.7.8", 443, "TCP"], ["172.30.0.44", 80, "TCP"], ["9.10.11.12", 80, "TCP"], ["192.168.99.11", 80, "TCP"],
    ["9.10.11.13", 80, "TCP"], ["172.30.0.46", 80, "TCP"], ["172.30.0.47", 80, "TCP"], ["172.30.0.48", 80, "TCP"],
    ["172.30.0.49", 80, "TCP"], ["9.10.11.14", 80, "TCP"], ["172.30.0.50", 53, "UDP"], ["172.30.0.50", 9000, "SCTP"],
    [TEST_NODE_IP, 30080, "TCP"], [TEST_NODE_IP, 30443, "TCP"], [TEST_NODE_IP, 30081, "TCP"], [TEST_NODE_IP, 30082, "TCP"],
    [TEST_NODE_IP, 30083, "TCP"], [TEST_NODE_IP, 30053, "UDP"], [TEST_NODE_IP, 30200, "TCP"], ["127.0.0.1", 30080, "TCP"],
    ["8.8.8.8", 80, "TCP"],
  ];
  const packets: Packet[] = [];
  for (const s of sources) {
    for (const [d, port, protocol] of targets) {
      for (const ingress of ["local", "external"] as const) {
        packets.push({ srcIP: parseIPv4(s), srcPort: 40000, dstIP: parseIPv4(d), dstPort: port, protocol, ingress });
      }
    }
  }
  return packets;
}

/** Same verdicts and work from our text and from what the kernel reports it holds. */
function expectSameBehaviour(ours: string, saved: string, nodeIP: number): void {
  const a = prepareRuleset(ours);
  const b = prepareRuleset(saved);
  for (const packet of samplePackets()) {
    // Draws away from the probability boundaries: the kernel keeps p as a 32-bit fraction.
    for (const u of [0.05, 0.3, 0.7, 0.95]) {
      expect(interpretIptables(b, nodeIP, packet, new ReplayRandom([u]))).toEqual(
        interpretIptables(a, nodeIP, packet, new ReplayRandom([u])),
      );
    }
  }
}

const namespaces: string[] = [];
afterAll(() => {
  for (const ns of namespaces) run("ip", ["netns", "del", ns]);
});

function withNamespace<T>(body: (ns: string) => T): T {
  const ns = `svcsim-test-${process.pid}-${randomBytes(3).toString("hex")}`;
  const created = run("ip", ["netns", "add", ns]);
  expect(created.status, created.stderr).toBe(0);
  namespaces.push(ns);
  try {
    return body(ns);
  } finally {
    run("ip", ["netns", "del", ns]);
    namespaces.splice(namespaces.indexOf(ns), 1);
  }
}

const describeKernel = skipReason === "" ? describe : describe.skip;

describeKernel("the kernel accepts the rendered iptables rules", () => {
  for (const tool of TOOLS.length > 0 ? TOOLS : [{ name: "none", restore: "", save: "" }]) {
    it(`${tool.restore} loads a mixed cluster, a partial sync on top, and reads back the same rules`, () => {
      withNamespace((ns) => {
        const counters = createNfacctCounters(ns);
        if (counters === null) {
          console.warn(
            `*** ${tool.name}: could not create nfacct counters (no nfacct tool, no python3): loading the rules without ` +
              "-m nfacct; the nfacct rendering is only parsed with --test. ***",
          );
        }
        const options = { nodeName: TEST_NODE_NAME, clusterCIDR: "10.0.0.0/8", nfacct: counters !== null };
        const restore = (text: string, extra: string[] = []) =>
          run("ip", ["netns", "exec", ns, tool.restore, "--noflush", ...extra], text);
        const save = () => {
          const r = run("ip", ["netns", "exec", ns, tool.save]);
          expect(r.status, r.stderr).toBe(0);
          return r.stdout;
        };

        if (counters === null) {
          const checked = restore(compileIptables(mixedCluster(), { ...options, nfacct: true }).render(), ["--test"]);
          expect(checked.status, checked.stderr).toBe(0);
        }

        // A full sync, then kube-proxy's jumps from the built-in chains.
        const state = mixedCluster();
        const first: IptablesDataPlane = compileIptables(state, options);
        const full = restore(first.render());
        expect(full.status, full.stderr).toBe(0);
        const hooks = restore(KUBE_PROXY_HOOK_RULES);
        expect(hooks.status, hooks.stderr).toBe(0);
        let saved = save();
        expect(rulesPerChain(saved)).toEqual(rulesPerChain(first.render()));
        expectSameBehaviour(first.render() + KUBE_PROXY_HOOK_RULES, saved, first.nodeIP);

        // A partial sync: one endpoint replaced, one Service deleted.
        const next: ClusterState = {
          ...state,
          services: state.services.filter((s) => s.name !== "sticky"),
          endpointSlices: state.endpointSlices
            .filter((s) => s.serviceName !== "sticky")
            .map((s) => (s.serviceName === "clusterip" ? testSlice("ns1", "clusterip", [{ ip: "10.180.0.1" }, { ip: "10.180.3.1" }], [{ name: "http", port: 8080 }]) : s)),
        };
        const changed = new Set(["ns1/clusterip", "ns3/sticky"]);
        const second = first.update(next, changed);
        const partial = restore(second.renderPartial(changed, first).text);
        expect(partial.status, partial.stderr).toBe(0);
        saved = save();
        expect(rulesPerChain(saved)).toEqual(rulesPerChain(second.render()));
        expectSameBehaviour(second.render() + KUBE_PROXY_HOOK_RULES, saved, second.nodeIP);
      });
    });
  }
});

describe("kernel test fixture", () => {
  it("covers every Service kind", () => {
    const plane = compileIptables(mixedCluster(), { nodeName: TEST_NODE_NAME, clusterCIDR: "10.0.0.0/8" });
    const text = plane.render();
    for (const needle of ["KUBE-FW-", "KUBE-SVL-", "KUBE-EXT-", "--rcheck", "has no endpoints", "has no local endpoints", "-p udp", "-p sctp", "health check node port"]) {
      expect(text).toContain(needle);
    }
  });
});
