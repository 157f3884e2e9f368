/**
 * Turning a study and the user's flags into a plan: validated parameter values, the grid of
 * configurations, and the tasks (one configuration × one replication), in a fixed order that
 * shards, workers and merges all agree on.
 */
import { InputError } from "../sim/errors.js";
import type { Config, ExperimentDefinition, ParamSpec, ParamValue } from "./definition.js";

export interface Task {
  /** Position in the plan: configIndex * replications + replication. */
  index: number;
  configIndex: number;
  replication: number;
}

export interface Plan {
  experiment: string;
  seed: number;
  replications: number;
  quick: boolean;
  /** Parameter names, in the definition's order: the CSV's parameter columns. */
  paramNames: string[];
  /** Parameters with more than one value: they name the configs. */
  swept: string[];
  configs: Config[];
  /** Labels of the configs ("mode=iptables;services=5000", or "base" when nothing is swept). */
  configNames: string[];
  tasks: Task[];
}

export interface PlanOptions {
  seed?: number;
  replications?: number;
  /** `key=value` or `key=v1,v2,...` (a sweep). */
  sets?: string[];
  quick?: boolean;
  /** The quick size shrunk further to the study's `tiny` overrides (tests, smoke runs). */
  tiny?: boolean;
}

export const DEFAULT_SEED = 1;

function parseValue(def: ExperimentDefinition, name: string, spec: ParamSpec, raw: string): ParamValue {
  const where = { fieldPath: `--set ${name}` };
  if (spec.kind === "string") {
    if (spec.choices && !spec.choices.includes(raw)) {
      throw new InputError(`bad value for parameter '${name}' of ${def.name}`, {
        ...where,
        expected: `one of ${spec.choices.join(", ")}`,
        found: JSON.stringify(raw),
      });
    }
    return raw;
  }
  const v = raw.trim() === "" ? Number.NaN : Number(raw);
  const wanted = spec.kind === "integer" ? "an integer" : "a number";
  if (!Number.isFinite(v) || (spec.kind === "integer" && !Number.isInteger(v))) {
    throw new InputError(`bad value for parameter '${name}' of ${def.name}`, { ...where, expected: wanted, found: JSON.stringify(raw) });
  }
  checkRange(def, name, spec, v);
  return v;
}

function checkRange(def: ExperimentDefinition, name: string, spec: ParamSpec, v: number): void {
  const low = spec.min;
  const tooLow = low !== undefined && (spec.exclusiveMin ? v <= low : v < low);
  const tooHigh = spec.max !== undefined && v > spec.max;
  if (tooLow || tooHigh) {
    const parts: string[] = [];
    if (low !== undefined) parts.push(spec.exclusiveMin ? `> ${low}` : `>= ${low}`);
    if (spec.max !== undefined) parts.push(`<= ${spec.max}`);
    throw new InputError(`bad value for parameter '${name}' of ${def.name}`, {
      fieldPath: `--set ${name}`,
      expected: `${spec.kind === "integer" ? "an integer" : "a number"} ${parts.join(" and ")}`,
      found: String(v),
    });
  }
}

function asList(v: ParamValue | ParamValue[]): ParamValue[] {
  return Array.isArray(v) ? v : [v];
}

function formatConfigValue(v: ParamValue): string {
  return typeof v === "number" ? String(v) : v;
}

/** Validates the flags against the study and expands the grid. Throws InputError. */
export function makePlan(def: ExperimentDefinition, options: PlanOptions): Plan {
  const paramNames = Object.keys(def.params);
  const values = new Map<string, ParamValue[]>();
  for (const name of paramNames) {
    const spec = def.params[name];
    const fromQuick = options.quick || options.tiny ? def.quick[name] : undefined;
    const fromTiny = options.tiny ? def.tiny[name] : undefined;
    values.set(name, asList(fromTiny ?? fromQuick ?? spec.default));
  }
  for (const assignment of options.sets ?? []) {
    const eq = assignment.indexOf("=");
    if (eq <= 0) {
      throw new InputError(`bad --set for ${def.name}`, { fieldPath: "--set", expected: "key=value", found: JSON.stringify(assignment) });
    }
    const name = assignment.slice(0, eq).trim();
    const spec = def.params[name];
    if (!spec) {
      throw new InputError(`unknown parameter '${name}' for ${def.name}`, {
        fieldPath: `--set ${name}`,
        expected: `one of ${paramNames.join(", ")}`,
        found: JSON.stringify(name),
      });
    }
    const raws = assignment.slice(eq + 1).split(",");
    values.set(
      name,
      raws.map((r) => parseValue(def, name, spec, r.trim())),
    );
  }
  const replications = options.replications ?? (options.quick || options.tiny ? def.replications.quick : def.replications.full);
  if (!Number.isInteger(replications) || replications < 1) {
    throw new InputError("bad replication count", { fieldPath: "--replications", expected: "an integer >= 1", found: String(replications) });
  }
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new InputError("bad seed", { fieldPath: "--seed", expected: "an integer >= 0", found: String(seed) });
  }

  // Cartesian product, first parameter varying slowest.
  let configs: Config[] = [{}];
  for (const name of paramNames) {
    const next: Config[] = [];
    for (const c of configs) for (const v of values.get(name) ?? []) next.push({ ...c, [name]: v });
    configs = next;
  }
  for (const c of configs) def.validate?.(c);

  const swept = paramNames.filter((n) => (values.get(n)?.length ?? 0) > 1);
  const configNames = configs.map((c) =>
    swept.length === 0 ? "base" : swept.map((n) => `${n}=${formatConfigValue(c[n])}`).join(";"),
  );
  const tasks: Task[] = [];
  configs.forEach((_, configIndex) => {
    for (let r = 0; r < replications; r++) tasks.push({ index: tasks.length, configIndex, replication: r });
  });
  return { experiment: def.name, seed, replications, quick: (options.quick ?? false) || (options.tiny ?? false), paramNames, swept, configs, configNames, tasks };
}

/** `I/N` → the tasks of shard I (0-based) of N: every N-th task, so shards get similar work. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || count < 1 || index >= count) {
    throw new InputError("bad shard", { fieldPath: "--shard", expected: "I/N with 0 <= I < N, e.g. 0/4", found: JSON.stringify(text) });
  }
  return { index, count };
}

export function shardTasks(plan: Plan, shard: { index: number; count: number } | undefined): Task[] {
  if (!shard) return plan.tasks;
  return plan.tasks.filter((t) => t.index % shard.count === shard.index);
}
