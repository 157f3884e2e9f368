/**
 * The state behind ClientIP session affinity: the kernel's xt_recent tables. kube-proxy's
 * KUBE-SVC chains check `-m recent --name KUBE-SEP-X --rcheck --seconds N --reap` (has this
 * source been sent to endpoint X within N seconds?) and the KUBE-SEP chains record
 * `-m recent --name KUBE-SEP-X --set`. One table per list name, keyed by source IP.
 *
 * Semantics follow net/netfilter/xt_recent.c for the options kube-proxy uses:
 * - `--set` creates the entry or refreshes its time, and makes it the most recently used;
 * - `--rcheck --seconds N` matches when the entry's last `--set` is at most N seconds old;
 *   it does not refresh the entry. With `--reap`, when the source has an entry, the kernel then
 *   looks at the least recently set entry of the list and removes it if it is stale;
 * - a list holds at most `ip_list_tot` entries (module parameter, 100 by default): adding to a
 *   full list evicts the least recently set entry. With more than 100 clients per endpoint,
 *   affinity is silently lost for the oldest ones, as on a real node.
 *
 * Time is explicit: whoever owns the table (the simulator) sets `now`, in seconds. Both
 * evaluators (interpreter and fast path) call the same two methods in the same order, so a
 * shared table gives both the same answers.
 */
export class RecentTable {
  /** Current time in seconds. */
  now = 0;
  private readonly lists = new Map<string, Map<number, number>>();

  constructor(readonly maxEntriesPerList = 100) {}

  /** `-m recent --name NAME --rcheck --seconds SECONDS [--reap]` for source `src`. */
  rcheck(name: string, src: number, seconds: number, reap: boolean): boolean {
    const list = this.lists.get(name);
    if (list === undefined) return false;
    const last = list.get(src);
    if (last === undefined) return false;
    const matched = seconds <= 0 || this.now - last <= seconds;
    if (reap && seconds > 0) {
      // recent_entry_reap: the head of the LRU list (oldest entry) goes if its last time is stale.
      const oldest = list.entries().next().value as [number, number];
      if (this.now - oldest[1] > seconds) list.delete(oldest[0]);
    }
    return matched;
  }

  /** `-m recent --name NAME --set` for source `src`. */
  set(name: string, src: number): void {
    let list = this.lists.get(name);
    if (list === undefined) {
      list = new Map();
      this.lists.set(name, list);
    }
    // Map iteration order is insertion order: delete + set makes `src` the most recent.
    if (list.has(src)) list.delete(src);
    else if (list.size >= this.maxEntriesPerList) {
      const oldest = list.keys().next().value as number;
      list.delete(oldest);
    }
    list.set(src, this.now);
  }

  /** Entries in list `name` (for tests and statistics). */
  size(name: string): number {
    return this.lists.get(name)?.size ?? 0;
  }

  clear(): void {
    this.lists.clear();
  }
}
