/**
 * Renders an IptablesModel as the `iptables-restore` input kube-proxy's syncProxyRules writes:
 * `*filter`, its chain lines, its rules, `COMMIT`, then `*nat` likewise. Lines are written in
 * exactly kube-proxy's order (top-level chains, then per Service port: KUBE-SERVICES rules,
 * KUBE-NODEPORTS rules, the masquerade rule, EXT, FW, SVC, SVL and SEP chains; then the
 * KUBE-SERVICES -> KUBE-NODEPORTS jump and the KUBE-FORWARD rules last).
 *
 * Strings are built directly from the model's records; no per-rule objects are allocated.
 */
import { computeProbability, MASQ_IN_SVL, MASQ_NONE } from "./model.js";
import type { EndpointPlan, IptablesModel, ServicePortPlan } from "./model.js";
import { NFACCT_CT_STATE_INVALID, NFACCT_LOCALHOST_NODEPORTS } from "./options.js";

export interface RenderCounts {
  filterChains: number;
  filterRules: number;
  natChains: number;
  natRules: number;
  /** Per-Service nat chains and rules a partial sync left out (still in the kernel). */
  skippedNatChains: number;
  skippedNatRules: number;
}

export interface RenderResult {
  text: string;
  counts: RenderCounts;
}

/**
 * Text written into a growing byte buffer. Lines are ASCII (Kubernetes names, addresses and
 * iptables words; model.ts refuses anything else), one byte per character. Writing each
 * Service's lines as one string into a buffer, instead of collecting millions of small strings
 * for a final join, keeps the garbage collector out of the way for large clusters.
 */
class Sink {
  private buf: Buffer;
  length = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(4096, capacity));
  }

  write(s: string): void {
    const need = this.length + s.length;
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    this.length += this.buf.write(s, this.length, "latin1");
  }

  copyTo(target: Buffer, at: number): number {
    this.buf.copy(target, at, 0, this.length);
    return at + this.length;
  }
}

/**
 * `changedServices`: when given, a partial sync (KEP-3453): the per-Service nat chains (masquerade
 * rule, EXT, FW, SVC, SVL, SEP) are written only for Services whose "ns/name" is in the set;
 * KUBE-SERVICES, KUBE-NODEPORTS and the filter table are always written whole.
 * `deletedChains`: chains to delete with `-X` (stale service chains), written after the rules.
 */
export function renderModel(
  model: IptablesModel,
  changedServices?: ReadonlySet<string>,
  deletedChains?: readonly string[],
): RenderResult {
  const opts = model.options;
  const mark = opts.mark;
  let endpoints = 0;
  for (const sp of model.servicePorts) endpoints += sp.reachableEndpoints.length;
  const fc = new Sink(512);
  const fr = new Sink(1024 + 64 * model.servicePorts.length);
  const nc = new Sink(1024 + 40 * (model.servicePorts.length + endpoints));
  const nr = new Sink(4096 + 400 * model.servicePorts.length + 260 * endpoints);
  let filterChains = 5;
  let filterRules = 0;
  let natChains = 4;
  let natRules = 4;
  fc.write("*filter\n:KUBE-SERVICES - [0:0]\n:KUBE-EXTERNAL-SERVICES - [0:0]\n:KUBE-FORWARD - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-PROXY-FIREWALL - [0:0]\n");
  nc.write("*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-POSTROUTING - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n");
  nr.write(
    `-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN\n` +
      `-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}\n` +
      `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${opts.randomFully ? " --random-fully" : ""}\n` +
      `-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}\n`,
  );
  if (opts.localhostNodePorts) {
    fc.write(":KUBE-FIREWALL - [0:0]\n");
    filterChains++;
    fr.write(
      '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n',
    );
    filterRules++;
  }

  const notLocalSource = model.clusterCIDR === null || opts.masqueradeAll ? "" : ` ! -s ${model.clusterCIDR.text}`;
  const localSource = model.clusterCIDR === null ? "" : ` -s ${model.clusterCIDR.text}`;
  const large = model.largeClusterMode;
  const localhostNodePortRule = opts.localhostNodePorts && opts.nfacct;
  const detector = model.clusterCIDR !== null;
  let skippedChains = 0;
  let skippedRules = 0;

  for (const sp of model.servicePorts) {
    const name = sp.name;
    const pr = sp.proto;
    const portMatch = `-m ${pr} -p ${pr}`;
    const dport = `--dport ${sp.port}`;
    // This Service port's lines, written to the sinks at the end (one write per sink).
    let f = "";
    let n = "";
    let c = "";

    let internalFilter = "";
    let externalFilter = "";
    if (!sp.hasEndpoints) {
      internalFilter = `"${name} has no endpoints"`;
      externalFilter = internalFilter;
    } else {
      if (!sp.hasInternalEndpoints) internalFilter = `"${name} has no local endpoints"`;
      if (!sp.hasExternalEndpoints) externalFilter = `"${name} has no local endpoints"`;
    }
    const filterTarget = sp.hasEndpoints ? "DROP" : "REJECT";
    const internalChain = sp.internalPolicyLocal ? sp.svlChain : sp.svcChain;
    const lbChain = sp.usesFirewallChain ? sp.fwChain : sp.extChain;

    // Capture the cluster IP.
    if (sp.hasInternalEndpoints) {
      n += `-A KUBE-SERVICES -m comment --comment "${name} cluster IP" ${portMatch} -d ${sp.clusterIPText} ${dport} -j ${internalChain}\n`;
      natRules++;
    } else {
      f += `-A KUBE-SERVICES -m comment --comment ${internalFilter} ${portMatch} -d ${sp.clusterIPText} ${dport} -j ${filterTarget}\n`;
      filterRules++;
    }
    // Capture external IPs.
    for (const ext of sp.externalIPTexts) {
      if (sp.hasEndpoints) {
        n += `-A KUBE-SERVICES -m comment --comment "${name} external IP" ${portMatch} -d ${ext} ${dport} -j ${sp.extChain}\n`;
        natRules++;
      }
      if (!sp.hasExternalEndpoints) {
        f += `-A KUBE-EXTERNAL-SERVICES -m comment --comment ${externalFilter} ${portMatch} -d ${ext} ${dport} -j ${filterTarget}\n`;
        filterRules++;
      }
    }
    // Capture load-balancer ingress.
    for (const lb of sp.lbIPTexts) {
      if (sp.hasEndpoints) {
        n += `-A KUBE-SERVICES -m comment --comment "${name} loadbalancer IP" ${portMatch} -d ${lb} ${dport} -j ${lbChain}\n`;
        natRules++;
      }
      if (sp.usesFirewallChain) {
        f += `-A KUBE-PROXY-FIREWALL -m comment --comment "${name} traffic not accepted by ${sp.fwChain}" ${portMatch} -d ${lb} ${dport} -j DROP\n`;
        filterRules++;
      }
    }
    if (!sp.hasExternalEndpoints) {
      for (const lb of sp.lbIPTexts) {
        f += `-A KUBE-EXTERNAL-SERVICES -m comment --comment ${externalFilter} ${portMatch} -d ${lb} ${dport} -j ${filterTarget}\n`;
        filterRules++;
      }
    }
    // Capture node ports.
    if (sp.nodePort !== 0) {
      if (sp.hasEndpoints) {
        if (localhostNodePortRule) {
          n += `-A KUBE-NODEPORTS -m comment --comment ${name} ${portMatch} -d 127.0.0.0/8 --dport ${sp.nodePort} -m nfacct --nfacct-name ${NFACCT_LOCALHOST_NODEPORTS} -j ${sp.extChain}\n`;
          natRules++;
        }
        n += `-A KUBE-NODEPORTS -m comment --comment ${name} ${portMatch} --dport ${sp.nodePort} -j ${sp.extChain}\n`;
        natRules++;
      }
      if (!sp.hasExternalEndpoints) {
        f += `-A KUBE-EXTERNAL-SERVICES -m comment --comment ${externalFilter} -m addrtype --dst-type LOCAL ${portMatch} --dport ${sp.nodePort} -j ${filterTarget}\n`;
        filterRules++;
      }
    }
    // Capture health-check node ports.
    if (sp.healthCheckNodePort !== 0) {
      f += `-A KUBE-NODEPORTS -m comment --comment "${name} health check node port" -m tcp -p tcp --dport ${sp.healthCheckNodePort} -j ACCEPT\n`;
      filterRules++;
    }

    // Below: the per-Service chains, which a partial sync writes only for changed Services.
    if (changedServices !== undefined && !changedServices.has(sp.serviceKey)) {
      const counted = countServiceChains(sp, detector);
      skippedChains += counted.chains;
      skippedRules += counted.rules;
    } else {
      if (sp.masqChain !== MASQ_NONE) {
        const chain = sp.masqChain === MASQ_IN_SVL ? sp.svlChain : sp.svcChain;
        n += `-A ${chain} -m comment --comment "${name} cluster IP" ${portMatch} -d ${sp.clusterIPText} ${dport}${notLocalSource} -j KUBE-MARK-MASQ\n`;
        natRules++;
      }

      if (sp.usesExternalChain) {
        const ext = sp.extChain;
        c += `:${ext} - [0:0]\n`;
        natChains++;
        if (!sp.externalPolicyLocal) {
          n += `-A ${ext} -m comment --comment "masquerade traffic for ${name} external destinations" -j KUBE-MARK-MASQ\n`;
          natRules++;
        } else {
          if (detector) {
            n += `-A ${ext} -m comment --comment "pod traffic for ${name} external destinations"${localSource} -j ${sp.svcChain}\n`;
            natRules++;
          }
          n +=
            `-A ${ext} -m comment --comment "masquerade LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ\n` +
            `-A ${ext} -m comment --comment "route LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j ${sp.svcChain}\n`;
          natRules += 2;
        }
        if (sp.hasExternalEndpoints) {
          n += `-A ${ext} -j ${sp.externalPolicyLocal ? sp.svlChain : sp.svcChain}\n`;
          natRules++;
        }
      }

      if (sp.usesFirewallChain) {
        const fw = sp.fwChain;
        c += `:${fw} - [0:0]\n`;
        natChains++;
        const head = `-A ${fw} -m comment --comment "${name} loadbalancer IP" -s `;
        for (const cidr of sp.sourceRanges) {
          n += `${head}${cidr.text} -j ${sp.extChain}\n`;
          natRules++;
        }
        if (sp.allowFromNode) {
          for (const lb of sp.lbIPTexts) {
            n += `${head}${lb} -j ${sp.extChain}\n`;
            natRules++;
          }
        }
        n += `-A ${fw} -m comment --comment "other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL"\n`;
        natRules++;
      }

      if (sp.usesClusterChain) {
        c += `:${sp.svcChain} - [0:0]\n`;
        natChains++;
        n += serviceToEndpointRules(sp, sp.svcChain, sp.clusterEndpoints, large);
        natRules += sp.clusterEndpoints.length * (sp.affinitySeconds > 0 ? 2 : 1);
      }
      if (sp.usesLocalChain) {
        c += `:${sp.svlChain} - [0:0]\n`;
        natChains++;
        n += serviceToEndpointRules(sp, sp.svlChain, sp.localEndpoints, large);
        natRules += sp.localEndpoints.length * (sp.affinitySeconds > 0 ? 2 : 1);
      }

      const comment = large ? "" : ` -m comment --comment ${name}`;
      const set = sp.affinitySeconds > 0;
      for (const ep of sp.reachableEndpoints) {
        const sep = ep.sepChain;
        c += `:${sep} - [0:0]\n`;
        n +=
          `-A ${sep}${comment} -s ${ep.ipText} -j KUBE-MARK-MASQ\n` +
          `-A ${sep}${comment}${set ? ` -m recent --name ${sep} --set` : ""} ${portMatch} -j DNAT --to-destination ${ep.key}\n`;
      }
      natChains += sp.reachableEndpoints.length;
      natRules += 2 * sp.reachableEndpoints.length;
    }

    if (f !== "") fr.write(f);
    if (n !== "") nr.write(n);
    if (c !== "") nc.write(c);
  }

  if (deletedChains) {
    for (const chain of deletedChains) {
      nc.write(`:${chain} - [0:0]\n`);
      nr.write(`-X ${chain}\n`);
    }
  }

  // The tail call to KUBE-NODEPORTS must be the last rule of KUBE-SERVICES.
  nr.write(
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL' +
      (opts.localhostNodePorts ? "" : " ! -d 127.0.0.0/8") +
      " -j KUBE-NODEPORTS\nCOMMIT\n",
  );
  natRules++;

  if (!opts.conntrackTCPLiberal) {
    fr.write(`-A KUBE-FORWARD -m conntrack --ctstate INVALID${opts.nfacct ? ` -m nfacct --nfacct-name ${NFACCT_CT_STATE_INVALID}` : ""} -j DROP\n`);
    filterRules++;
  }
  fr.write(
    `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT\n` +
      '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n',
  );
  filterRules += 2;

  const all = Buffer.allocUnsafe(fc.length + fr.length + nc.length + nr.length);
  nr.copyTo(all, nc.copyTo(all, fr.copyTo(all, fc.copyTo(all, 0))));
  return {
    text: all.toString("latin1"),
    counts: {
      filterChains,
      filterRules,
      natChains,
      natRules,
      skippedNatChains: skippedChains,
      skippedNatRules: skippedRules,
    },
  };
}

/** A KUBE-SVC/SVL chain's rules (writeServiceToEndpointRules). */
function serviceToEndpointRules(sp: ServicePortPlan, chain: string, endpoints: EndpointPlan[], large: boolean): string {
  const name = sp.name;
  const n = endpoints.length;
  let out = "";
  if (sp.affinitySeconds > 0) {
    for (const ep of endpoints) {
      const comment = large ? "" : ` -m comment --comment "${name} -> ${ep.key}"`;
      out += `-A ${chain}${comment} -m recent --name ${ep.sepChain} --rcheck --seconds ${sp.affinitySeconds} --reap -j ${ep.sepChain}\n`;
    }
  }
  for (let i = 0; i < n; i++) {
    const ep = endpoints[i];
    const comment = large ? "" : ` -m comment --comment "${name} -> ${ep.key}"`;
    if (i < n - 1) out += `-A ${chain}${comment} -m statistic --mode random --probability ${computeProbability(n - i)} -j ${ep.sepChain}\n`;
    else out += `-A ${chain}${comment} -j ${ep.sepChain}\n`;
  }
  return out;
}

/** The nat chains and rules a Service port's per-Service chains hold (for partial-sync counts). */
export function countServiceChains(sp: ServicePortPlan, hasLocalDetector: boolean): { chains: number; rules: number } {
  let chains = 0;
  let rules = sp.masqChain !== MASQ_NONE ? 1 : 0;
  if (sp.usesExternalChain) {
    chains++;
    rules += sp.externalPolicyLocal ? (hasLocalDetector ? 3 : 2) : 1;
    if (sp.hasExternalEndpoints) rules++;
  }
  if (sp.usesFirewallChain) {
    chains++;
    rules += sp.sourceRanges.length + (sp.allowFromNode ? sp.lbIPs.length : 0) + 1;
  }
  const aff = sp.affinitySeconds > 0 ? 2 : 1;
  if (sp.usesClusterChain) {
    chains++;
    rules += sp.clusterEndpoints.length * aff;
  }
  if (sp.usesLocalChain) {
    chains++;
    rules += sp.localEndpoints.length * aff;
  }
  chains += sp.reachableEndpoints.length;
  rules += 2 * sp.reachableEndpoints.length;
  return { chains, rules };
}

/** The counts renderModel(model) reports for a full sync, computed without rendering. */
export function countRules(model: IptablesModel): RenderCounts {
  const opts = model.options;
  let filterChains = 5;
  let filterRules = 0;
  let natChains = 4;
  let natRules = 4;
  if (opts.localhostNodePorts) {
    filterChains++;
    filterRules++;
  }
  const detector = model.clusterCIDR !== null;
  const loopbackNodePorts = opts.localhostNodePorts && opts.nfacct;
  for (const sp of model.servicePorts) {
    const ext = sp.externalIPs.length;
    const lb = sp.lbIPs.length;
    if (sp.hasInternalEndpoints) natRules++;
    else filterRules++;
    if (sp.hasEndpoints) natRules += ext + lb;
    if (!sp.hasExternalEndpoints) filterRules += ext + lb;
    if (sp.usesFirewallChain) filterRules += lb;
    if (sp.nodePort !== 0) {
      if (sp.hasEndpoints) natRules += loopbackNodePorts ? 2 : 1;
      if (!sp.hasExternalEndpoints) filterRules++;
    }
    if (sp.healthCheckNodePort !== 0) filterRules++;
    const c = countServiceChains(sp, detector);
    natChains += c.chains;
    natRules += c.rules;
  }
  natRules++; // the jump to KUBE-NODEPORTS
  filterRules += opts.conntrackTCPLiberal ? 2 : 3;
  return { filterChains, filterRules, natChains, natRules, skippedNatChains: 0, skippedNatRules: 0 };
}
