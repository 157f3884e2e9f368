import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Simulation } from "./engine.js";
import type { EventId } from "./engine.js";

describe("Simulation: order", () => {
  it("fires events in time order and equal times first-in first-out", () => {
    const sim = new Simulation();
    const log: Array<[number, number]> = [];
    const h = sim.on((arg) => log.push([sim.now, arg]));
    sim.schedule(30, h, 1);
    sim.schedule(10, h, 2);
    sim.schedule(20, h, 3);
    sim.schedule(10, h, 4);
    sim.scheduleAt(10, h, 5);
    sim.schedule(0, h, 6);
    sim.run();
    expect(log).toEqual([
      [0, 6],
      [10, 2],
      [10, 4],
      [10, 5],
      [20, 3],
      [30, 1],
    ]);
    expect(sim.eventsProcessed).toBe(6);
    expect(sim.pending).toBe(0);
  });

  it("puts an event scheduled for now from a handler after the events already due now", () => {
    const sim = new Simulation();
    const log: string[] = [];
    const later = sim.on((_a, p: string) => log.push(p));
    const first = sim.on(() => {
      log.push("first");
      sim.schedule(0, later, 0, "zero-delay from first");
    });
    sim.schedule(5, first);
    sim.schedule(5, later, 0, "second");
    sim.run();
    expect(log).toEqual(["first", "second", "zero-delay from first"]);
  });

  it("matches a model priority queue for random schedules, including events scheduled by handlers", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean()), { minLength: 1, maxLength: 200 }), (ops) => {
        const sim = new Simulation();
        const fired: number[] = [];
        const child = sim.on((id) => fired.push(id));
        const parent = sim.on((id) => {
          fired.push(id);
          sim.schedule(3, child, id + 10_000); // each parent spawns a child 3 ns later
        });
        ops.forEach(([t, spawns], id) => sim.scheduleAt(t, spawns ? parent : child, id));
        sim.run();

        // The model: a list kept sorted by (time, insertion number).
        type Entry = { t: number; seq: number; id: number };
        const queue: Entry[] = ops.map(([t], id) => ({ t, seq: id, id }));
        let seq = queue.length;
        const want: number[] = [];
        while (queue.length > 0) {
          queue.sort((a, b) => a.t - b.t || a.seq - b.seq);
          const e = queue.shift() as Entry;
          want.push(e.id);
          if (e.id < 10_000 && ops[e.id][1]) queue.push({ t: e.t + 3, seq: seq++, id: e.id + 10_000 });
        }
        expect(fired).toEqual(want);
      }),
    );
  });

  it("passes the numeric argument and the payload", () => {
    const sim = new Simulation();
    const got: Array<[number, { name: string } | undefined]> = [];
    const h = sim.on<{ name: string } | undefined>((arg, payload) => got.push([arg, payload]));
    sim.schedule(1, h, 42, { name: "a" });
    sim.schedule(2, h);
    sim.run();
    expect(got).toEqual([
      [42, { name: "a" }],
      [0, undefined],
    ]);
  });

  it("rounds times to whole nanoseconds", () => {
    const sim = new Simulation();
    const times: number[] = [];
    const h = sim.on(() => times.push(sim.now));
    sim.schedule(1234.6, h);
    sim.schedule(0.4, h);
    sim.run();
    expect(times).toEqual([0, 1235]);
  });
});

describe("Simulation: cancel", () => {
  it("cancels a pending event once; it does not fire and is not counted as pending", () => {
    const sim = new Simulation();
    const fired: number[] = [];
    const h = sim.on((arg) => fired.push(arg));
    const a = sim.schedule(10, h, 1);
    const b = sim.schedule(20, h, 2);
    sim.schedule(30, h, 3);
    expect(sim.pending).toBe(3);
    expect(sim.cancel(b)).toBe(true);
    expect(sim.cancel(b)).toBe(false);
    expect(sim.pending).toBe(2);
    sim.run();
    expect(fired).toEqual([1, 3]);
    expect(sim.cancel(a)).toBe(false); // already fired
    expect(sim.eventsProcessed).toBe(2);
  });

  it("does not let a stale id cancel a later event that reuses its slot", () => {
    const sim = new Simulation();
    const fired: number[] = [];
    const h = sim.on((arg) => fired.push(arg));
    const old = sim.schedule(1, h, 1);
    sim.run();
    const fresh = sim.schedule(1, h, 2);
    expect(fresh).not.toBe(old);
    expect(sim.cancel(old)).toBe(false);
    sim.run();
    expect(fired).toEqual([1, 2]);
  });

  it("ignores ids that were never issued", () => {
    const sim = new Simulation();
    expect(sim.cancel(-1 as EventId)).toBe(false);
    expect(sim.cancel(1.5 as EventId)).toBe(false);
    expect(sim.cancel(123456789 as EventId)).toBe(false);
    // Slots that exist but were never used, before and after the slots grow past 1024.
    const h = sim.on(() => {});
    const ids = Array.from({ length: 3000 }, (_, i) => sim.schedule(i, h));
    expect(sim.cancel(3500 as EventId)).toBe(false); // generation 0, slot 3500
    expect(sim.cancel((2 ** 24 + 3500) as EventId)).toBe(false); // generation 1, slot 3500
    expect(sim.cancel(7 as EventId)).toBe(false); // generation 0 of a slot in use
    expect(sim.pending).toBe(3000);
    // Slots are taken lowest first: the first ids are generation 1 of slots 0, 1, 2, ...
    expect(ids.slice(0, 3)).toEqual([2 ** 24, 2 ** 24 + 1, 2 ** 24 + 2]);
    expect(ids[2999]).toBe(2 ** 24 + 2999);
    expect(sim.cancel(ids[2999])).toBe(true);
  });

  it("cancels from inside a handler (a timeout cancelled by the response)", () => {
    const sim = new Simulation();
    const log: string[] = [];
    const timeout = sim.on(() => log.push(`timeout@${sim.now}`));
    let timer = -1 as EventId;
    const response = sim.on(() => {
      log.push(`response@${sim.now}`);
      expect(sim.cancel(timer)).toBe(true);
    });
    timer = sim.schedule(100, timeout);
    sim.schedule(40, response);
    sim.run();
    expect(log).toEqual(["response@40"]);
    expect(sim.now).toBe(40);
  });

  it("stays correct when most events are cancelled (the heap is compacted)", () => {
    const sim = new Simulation();
    const fired: number[] = [];
    const h = sim.on((arg) => fired.push(arg));
    const ids: EventId[] = [];
    for (let i = 0; i < 10_000; i++) ids.push(sim.schedule(10_000 - i, h, i));
    for (let i = 0; i < 10_000; i++) if (i % 10 !== 0) expect(sim.cancel(ids[i])).toBe(true);
    expect(sim.pending).toBe(1000);
    expect(sim.peekTime()).toBe(10_000 - 9990);
    sim.run();
    const want = Array.from({ length: 1000 }, (_, k) => 9990 - 10 * k);
    expect(fired).toEqual(want);
    for (const id of ids) expect(sim.cancel(id)).toBe(false);
  });
});

describe("Simulation: run, stop, step", () => {
  it("run(until) processes events at or before until, then sets the clock to until", () => {
    const sim = new Simulation();
    const fired: number[] = [];
    const h = sim.on(() => fired.push(sim.now));
    for (const t of [5, 10, 15]) sim.scheduleAt(t, h);
    sim.run(10);
    expect(fired).toEqual([5, 10]);
    expect(sim.now).toBe(10);
    expect(sim.pending).toBe(1);
    sim.run(12);
    expect(sim.now).toBe(12);
    expect(fired).toEqual([5, 10]);
    sim.run();
    expect(fired).toEqual([5, 10, 15]);
    expect(sim.now).toBe(15);
    sim.run(100); // empty queue: the clock still advances
    expect(sim.now).toBe(100);
  });

  it("stop() ends run() after the current event; run() resumes", () => {
    const sim = new Simulation();
    const fired: number[] = [];
    const h = sim.on((arg) => {
      fired.push(arg);
      if (arg === 2) sim.stop();
    });
    for (let i = 1; i <= 4; i++) sim.scheduleAt(i * 10, h, i);
    sim.run(1000);
    expect(fired).toEqual([1, 2]);
    expect(sim.now).toBe(20); // not advanced to `until`
    sim.run();
    expect(fired).toEqual([1, 2, 3, 4]);
    sim.stop(); // outside run: no effect on the next run
    sim.scheduleAt(50, h, 5);
    sim.run();
    expect(fired).toEqual([1, 2, 3, 4, 5]);
  });

  it("step() processes one event at a time, skipping cancelled ones", () => {
    const sim = new Simulation();
    const fired: number[] = [];
    const h = sim.on((arg) => fired.push(arg));
    sim.schedule(1, h, 1);
    const b = sim.schedule(2, h, 2);
    sim.schedule(3, h, 3);
    sim.cancel(b);
    expect(sim.step()).toBe(true);
    expect(fired).toEqual([1]);
    expect(sim.step()).toBe(true);
    expect(fired).toEqual([1, 3]);
    expect(sim.now).toBe(3);
    expect(sim.step()).toBe(false);
  });

  it("propagates a handler's exception and stays usable", () => {
    const sim = new Simulation();
    const bad = sim.on(() => {
      throw new Error("boom");
    });
    const ok = sim.on(() => undefined);
    sim.schedule(1, bad);
    sim.schedule(2, ok);
    expect(() => sim.run()).toThrow("boom");
    expect(sim.now).toBe(1);
    sim.run();
    expect(sim.eventsProcessed).toBe(2);
  });
});

describe("Simulation: errors", () => {
  it("refuses the past, negative delays and non-finite times", () => {
    const sim = new Simulation();
    const h = sim.on(() => undefined);
    sim.run(100);
    expect(() => sim.schedule(-1, h)).toThrow(RangeError);
    expect(() => sim.schedule(NaN, h)).toThrow(RangeError);
    expect(() => sim.schedule(Infinity, h)).toThrow(RangeError);
    expect(() => sim.scheduleAt(99, h)).toThrow(RangeError);
    expect(() => sim.scheduleAt(NaN, h)).toThrow(RangeError);
    expect(() => sim.scheduleAt(Infinity, h)).toThrow(RangeError);
    expect(() => sim.scheduleAt(2 ** 60, h)).toThrow(RangeError);
    expect(() => sim.run(50)).toThrow(RangeError);
    expect(() => sim.run(NaN)).toThrow(RangeError);
    expect(sim.pending).toBe(0);
    expect(() => sim.scheduleAt(100, h)).not.toThrow();
  });

  it("refuses unknown handlers and re-entrant run()", () => {
    const sim = new Simulation();
    expect(() => sim.schedule(1, 7 as never)).toThrow(RangeError);
    const h = sim.on(() => sim.run());
    sim.schedule(1, h);
    expect(() => sim.run()).toThrow(/already running/);
  });
});

describe("Simulation: the queue against a model", () => {
  type Op = { kind: "schedule"; delay: number; payload: boolean } | { kind: "cancel"; pick: number } | { kind: "run"; span: number } | { kind: "step" };
  const op = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant("schedule" as const), delay: fc.integer({ min: 0, max: 6 }), payload: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("run" as const), span: fc.integer({ min: 0, max: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("step" as const) }) },
  );

  it("fires in (time, insertion) order through schedules, cancels, run(until) and step, with many ties", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops: Op[]) => {
        const sim = new Simulation();
        const fired: Array<[number, number, string | undefined]> = [];
        const h = sim.on<string | undefined>((arg, payload) => fired.push([sim.now, arg, payload]));
        // The model: pending events as (time, insertion number), sorted on each use.
        type Entry = { t: number; n: number; id: EventId; payload: string | undefined };
        let pending: Entry[] = [];
        const want: Array<[number, number, string | undefined]> = [];
        let now = 0;
        let n = 0;
        let cancelled = 0;
        const fire = (e: Entry): void => {
          now = e.t;
          want.push([e.t, e.n, e.payload]);
        };
        const byKey = (a: Entry, b: Entry): number => a.t - b.t || a.n - b.n;
        const everIssued: EventId[] = [];
        for (const o of ops) {
          if (o.kind === "schedule") {
            const payload = o.payload ? `p${n}` : undefined;
            const id = sim.schedule(o.delay, h, n, payload);
            everIssued.push(id);
            pending.push({ t: now + o.delay, n, id, payload });
            n++;
          } else if (o.kind === "cancel") {
            if (everIssued.length === 0) continue;
            const id = everIssued[o.pick % everIssued.length];
            const wasPending = pending.some((e) => e.id === id);
            expect(sim.cancel(id)).toBe(wasPending);
            if (wasPending) cancelled++;
            pending = pending.filter((e) => e.id !== id);
          } else if (o.kind === "run") {
            const until = now + o.span;
            sim.run(until);
            pending.sort(byKey);
            while (pending.length > 0 && pending[0].t <= until) fire(pending.shift() as Entry);
            now = until;
          } else {
            pending.sort(byKey);
            const e = pending.shift();
            expect(sim.step()).toBe(e !== undefined);
            if (e) fire(e);
          }
          expect(sim.now).toBe(now);
          expect(sim.pending).toBe(pending.length);
          expect(sim.eventsProcessed).toBe(want.length);
        }
        sim.run();
        pending.sort(byKey).forEach(fire);
        expect(fired).toEqual(want);
        expect(sim.eventsProcessed).toBe(n - cancelled);
        expect(sim.pending).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps FIFO order among thousands of equal times as the queue grows and is compacted", () => {
    const sim = new Simulation();
    const fired: number[] = [];
    const h = sim.on((arg) => fired.push(arg));
    const ids: EventId[] = [];
    // 6000 events at three instants, scheduled round-robin; then four in five of the events at
    // 20 and 30 cancelled, more than stay pending, so the queue is compacted.
    const instant = (i: number): number => [30, 10, 20][i % 3];
    const kept = (i: number): boolean => instant(i) === 10 || i % 10 < 2;
    for (let i = 0; i < 6000; i++) ids.push(sim.scheduleAt(instant(i), h, i));
    for (let i = 0; i < 6000; i++) if (!kept(i)) expect(sim.cancel(ids[i])).toBe(true);
    expect(sim.pending).toBe(2800);
    sim.run();
    const at = (t: number): number[] => Array.from({ length: 6000 }, (_, i) => i).filter((i) => instant(i) === t && kept(i));
    expect(fired).toEqual([...at(10), ...at(20), ...at(30)]);
    expect(sim.eventsProcessed).toBe(2800);
  });
});
