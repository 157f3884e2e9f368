/** kube-proxy's nftables mode: compile, render (full and incremental), evaluate. */
export { NftablesDataPlane, NftablesProxy, compileNftables } from "./dataplane.js";
export type { NftTransaction } from "./dataplane.js";
export type { NftablesOptions } from "./compile.js";
export { applyTransaction, dumpTable, NftTableState } from "./transaction.js";
