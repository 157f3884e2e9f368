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
  const filterChains: string[] = [
    ":KUBE-SERVICES - [0:0]",
    ":KUBE-EXTERNAL-SERVICES - [0:0]",
    ":KUBE-FORWARD - [0:0]",
    ":KUBE-NODEPORTS - [0:0]",
    ":KUBE-PROXY-FIREWALL - [0:0]",
  ];
  const filterRules: string[] = [];
  const natChains: string[] = [
    ":KUBE-SERVICES - [0:0]",
    ":KUBE-NODEPORTS - [0:0]",
    ":KUBE-POSTROUTING - [0:0]",
    ":KUBE-MARK-MASQ - [0:0]",
  ];
  const natRules: string[] = [
    `-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`,
    `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE` +
      (opts.randomFully ? " --random-fully" : ""),
    `-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`,
  ];
  if (opts.localhostNodePorts) {
    filterChains.push(":KUBE-FIREWALL - [0:0]");
    filterRules.push(
      '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    );
  }

  const notLocalSource = model.clusterCIDR === null ? "" : ` ! -s ${model.clusterCIDR.text}`;
  const localSource = model.clusterCIDR === null ? "" : `-s ${model.clusterCIDR.text}`;
  const large = model.largeClusterMode;
  const localhostNodePortRule = opts.localhostNodePorts && opts.nfacct;
  const skippedNat = { chains: 0, rules: 0 };

  for (const sp of model.servicePorts) {
    const name = sp.name;
    const pr = sp.proto;
    const portMatch = `-m ${pr} -p ${pr}`;
    const svcPort = String(sp.port);

    let internalFilterTarget = "";
    let internalFilterComment = "";
    let externalFilterTarget = "";
    let externalFilterComment = "";
    if (!sp.hasEndpoints) {
      internalFilterTarget = "REJECT";
      internalFilterComment = `"${name} has no endpoints"`;
      externalFilterTarget = "REJECT";
      externalFilterComment = internalFilterComment;
    } else {
      if (!sp.hasInternalEndpoints) {
        internalFilterTarget = "DROP";
        internalFilterComment = `"${name} has no local endpoints"`;
      }
      if (!sp.hasExternalEndpoints) {
        externalFilterTarget = "DROP";
        externalFilterComment = `"${name} has no local endpoints"`;
      }
    }
    const internalChain = sp.internalPolicyLocal ? sp.svlChain : sp.svcChain;
    const lbChain = sp.usesFirewallChain ? sp.fwChain : sp.extChain;

    // Capture the cluster IP.
    if (sp.hasInternalEndpoints) {
      natRules.push(
        `-A KUBE-SERVICES -m comment --comment "${name} cluster IP" ${portMatch} -d ${sp.clusterIPText} --dport ${svcPort} -j ${internalChain}`,
      );
    } else {
      filterRules.push(
        `-A KUBE-SERVICES -m comment --comment ${internalFilterComment} ${portMatch} -d ${sp.clusterIPText} --dport ${svcPort} -j ${internalFilterTarget}`,
      );
    }
    // Capture external IPs.
    for (const ext of sp.externalIPTexts) {
      if (sp.hasEndpoints) {
        natRules.push(
          `-A KUBE-SERVICES -m comment --comment "${name} external IP" ${portMatch} -d ${ext} --dport ${svcPort} -j ${sp.extChain}`,
        );
      }
      if (!sp.hasExternalEndpoints) {
        filterRules.push(
          `-A KUBE-EXTERNAL-SERVICES -m comment --comment ${externalFilterComment} ${portMatch} -d ${ext} --dport ${svcPort} -j ${externalFilterTarget}`,
        );
      }
    }
    // Capture load-balancer ingress.
    for (const lb of sp.lbIPTexts) {
      if (sp.hasEndpoints) {
        natRules.push(
          `-A KUBE-SERVICES -m comment --comment "${name} loadbalancer IP" ${portMatch} -d ${lb} --dport ${svcPort} -j ${lbChain}`,
        );
      }
      if (sp.usesFirewallChain) {
        filterRules.push(
          `-A KUBE-PROXY-FIREWALL -m comment --comment "${name} traffic not accepted by ${sp.fwChain}" ${portMatch} -d ${lb} --dport ${svcPort} -j DROP`,
        );
      }
    }
    if (!sp.hasExternalEndpoints) {
      for (const lb of sp.lbIPTexts) {
        filterRules.push(
          `-A KUBE-EXTERNAL-SERVICES -m comment --comment ${externalFilterComment} ${portMatch} -d ${lb} --dport ${svcPort} -j ${externalFilterTarget}`,
        );
      }
    }
    // Capture node ports.
    if (sp.nodePort !== 0) {
      if (sp.hasEndpoints) {
        if (localhostNodePortRule) {
          natRules.push(
            `-A KUBE-NODEPORTS -m comment --comment ${name} ${portMatch} -d 127.0.0.0/8 --dport ${sp.nodePort} -m nfacct --nfacct-name ${NFACCT_LOCALHOST_NODEPORTS} -j ${sp.extChain}`,
          );
        }
        natRules.push(`-A KUBE-NODEPORTS -m comment --comment ${name} ${portMatch} --dport ${sp.nodePort} -j ${sp.extChain}`);
      }
      if (!sp.hasExternalEndpoints) {
        filterRules.push(
          `-A KUBE-EXTERNAL-SERVICES -m comment --comment ${externalFilterComment} -m addrtype --dst-type LOCAL ${portMatch} --dport ${sp.nodePort} -j ${externalFilterTarget}`,
        );
      }
    }
    // Capture health-check node ports.
    if (sp.healthCheckNodePort !== 0) {
      filterRules.push(
        `-A KUBE-NODEPORTS -m comment --comment "${name} health check node port" -m tcp -p tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`,
      );
    }

    // Below: the per-Service chains, which a partial sync writes only for changed Services.
    const write = changedServices === undefined || changedServices.has(sp.serviceKey);
    if (!write) {
      const c = countServiceChains(sp, model.clusterCIDR !== null);
      skippedNat.chains += c.chains;
      skippedNat.rules += c.rules;
      continue;
    }

    if (sp.masqChain !== MASQ_NONE) {
      const chain = sp.masqChain === MASQ_IN_SVL ? sp.svlChain : sp.svcChain;
      natRules.push(
        `-A ${chain} -m comment --comment "${name} cluster IP" ${portMatch} -d ${sp.clusterIPText} --dport ${svcPort}` +
          (opts.masqueradeAll ? "" : notLocalSource) +
          " -j KUBE-MARK-MASQ",
      );
    }

    if (sp.usesExternalChain) {
      const ext = sp.extChain;
      natChains.push(`:${ext} - [0:0]`);
      if (!sp.externalPolicyLocal) {
        natRules.push(`-A ${ext} -m comment --comment "masquerade traffic for ${name} external destinations" -j KUBE-MARK-MASQ`);
      } else {
        if (model.clusterCIDR !== null) {
          natRules.push(`-A ${ext} -m comment --comment "pod traffic for ${name} external destinations" ${localSource} -j ${sp.svcChain}`);
        }
        natRules.push(
          `-A ${ext} -m comment --comment "masquerade LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
        );
        natRules.push(
          `-A ${ext} -m comment --comment "route LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j ${sp.svcChain}`,
        );
      }
      if (sp.hasExternalEndpoints) {
        natRules.push(`-A ${ext} -j ${sp.externalPolicyLocal ? sp.svlChain : sp.svcChain}`);
      }
    }

    if (sp.usesFirewallChain) {
      const fw = sp.fwChain;
      natChains.push(`:${fw} - [0:0]`);
      const head = `-A ${fw} -m comment --comment "${name} loadbalancer IP"`;
      for (const cidr of sp.sourceRanges) natRules.push(`${head} -s ${cidr.text} -j ${sp.extChain}`);
      if (sp.allowFromNode) {
        for (const lb of sp.lbIPTexts) natRules.push(`${head} -s ${lb} -j ${sp.extChain}`);
      }
      natRules.push(`-A ${fw} -m comment --comment "other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL"`);
    }

    if (sp.usesClusterChain) {
      natChains.push(`:${sp.svcChain} - [0:0]`);
      writeServiceToEndpointRules(natRules, sp, sp.svcChain, sp.clusterEndpoints, large);
    }
    if (sp.usesLocalChain) {
      natChains.push(`:${sp.svlChain} - [0:0]`);
      writeServiceToEndpointRules(natRules, sp, sp.svlChain, sp.localEndpoints, large);
    }

    const sepComment = large ? "" : ` -m comment --comment ${name}`;
    const affinity = sp.affinitySeconds > 0;
    for (const ep of sp.reachableEndpoints) {
      const sep = ep.sepChain;
      natChains.push(`:${sep} - [0:0]`);
      natRules.push(`-A ${sep}${sepComment} -s ${ep.ipText} -j KUBE-MARK-MASQ`);
      natRules.push(
        `-A ${sep}${sepComment}` +
          (affinity ? ` -m recent --name ${sep} --set` : "") +
          ` ${portMatch} -j DNAT --to-destination ${ep.key}`,
      );
    }
  }

  if (deletedChains) {
    for (const chain of deletedChains) {
      natChains.push(`:${chain} - [0:0]`);
      natRules.push(`-X ${chain}`);
    }
  }

  // The tail call to KUBE-NODEPORTS must be the last rule of KUBE-SERVICES.
  natRules.push(
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL' +
      (opts.localhostNodePorts ? "" : " ! -d 127.0.0.0/8") +
      " -j KUBE-NODEPORTS",
  );

  if (!opts.conntrackTCPLiberal) {
    filterRules.push(
      "-A KUBE-FORWARD -m conntrack --ctstate INVALID" +
        (opts.nfacct ? ` -m nfacct --nfacct-name ${NFACCT_CT_STATE_INVALID}` : "") +
        " -j DROP",
    );
  }
  filterRules.push(`-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`);
  filterRules.push(
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  );

  const text =
    "*filter\n" +
    joinLines(filterChains) +
    joinLines(filterRules) +
    "COMMIT\n*nat\n" +
    joinLines(natChains) +
    joinLines(natRules) +
    "COMMIT\n";
  const deleted = deletedChains ? deletedChains.length : 0;
  return {
    text,
    counts: {
      filterChains: filterChains.length,
      filterRules: filterRules.length,
      natChains: natChains.length - deleted,
      natRules: natRules.length - deleted,
      skippedNatChains: skippedNat.chains,
      skippedNatRules: skippedNat.rules,
    },
  };
}

function joinLines(lines: string[]): string {
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}

function writeServiceToEndpointRules(
  natRules: string[],
  sp: ServicePortPlan,
  chain: string,
  endpoints: EndpointPlan[],
  large: boolean,
): void {
  const name = sp.name;
  if (sp.affinitySeconds > 0) {
    for (const ep of endpoints) {
      const comment = large ? "" : ` -m comment --comment "${name} -> ${ep.key}"`;
      natRules.push(
        `-A ${chain}${comment} -m recent --name ${ep.sepChain} --rcheck --seconds ${sp.affinitySeconds} --reap -j ${ep.sepChain}`,
      );
    }
  }
  const n = endpoints.length;
  for (let i = 0; i < n; i++) {
    const ep = endpoints[i];
    const comment = large ? "" : ` -m comment --comment "${name} -> ${ep.key}"`;
    if (i < n - 1) {
      natRules.push(`-A ${chain}${comment} -m statistic --mode random --probability ${computeProbability(n - i)} -j ${ep.sepChain}`);
    } else {
      natRules.push(`-A ${chain}${comment} -j ${ep.sepChain}`);
    }
  }
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
