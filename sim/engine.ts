import { EventHeap } from "./heap.js";
import { MAX_NANOS, formatDuration } from "./time.js";
import type { Nanos } from "./time.js";

/**
 * A registered handler. The phantom `T` is the payload type the handler expects, so that
 * `schedule(d, h, arg, payload)` type-checks the payload; a plain `HandlerId` accepts any.
 */
export type HandlerId<T = unknown> = number & { readonly __handlerId: true; readonly __payload?: T };

/** A scheduled event, for cancel(). Unique among the events pending at any one time. */
export type EventId = number & { readonly __eventId: true };

export type Handler<T = unknown> = (arg: number, payload: T) => void;

/**
 * Slots hold what an event carries (handler, numeric argument, payload) so the heap moves only
 * (time, seq, slot). A slot's argument and state sit side by side in one Float64Array (one
 * cache line to read when an event fires, which matters with a million events pending); the
 * state is FREE, CANCELLED, or 2·handler + (1 if a payload is stored), so the payload array is
 * only touched by events that carry one. An EventId is `generation * SLOT_LIMIT + slot`; the per-slot generation
 * changes whenever the slot is reused, so a stale id cannot cancel a later event. Generations
 * wrap after 2^29 reuses of one slot: a stale id would have to be held across exactly a
 * multiple of 536,870,912 reuses of its slot to collide.
 */
const SLOT_LIMIT = 2 ** 24;
const GEN_MASK = 2 ** 29 - 1;
const FREE = -1;
const CANCELLED = -2;

/** Rebuild the heap without cancelled entries once they are this many and outnumber the live. */
const COMPACT_MIN = 1024;

/**
 * The discrete-event kernel: a clock in integer nanoseconds and a queue of events keyed by
 * (time, insertion order), so that events at the same instant fire first-in first-out.
 *
 * Model code registers its handlers once with `on()` and then schedules events that name a
 * handler, a number and optionally an object: no closure is allocated per event.
 *
 * Times passed to schedule/scheduleAt are rounded to the nearest nanosecond, so the clock is
 * always an integer (a sampled 1234.6 ns delay fires at +1235 ns).
 */
export class Simulation {
  private _now: Nanos = 0;
  private readonly heap = new EventHeap(1024);
  private readonly handlers: Handler<unknown>[] = [];

  /** [2·slot] = numeric argument, [2·slot + 1] = state (see SLOT_LIMIT's comment). */
  private slotData: Float64Array;
  private slotGen: Int32Array;
  private slotPayload: unknown[];
  private freeSlots: Int32Array;
  private freeCount = 0;
  private slotsUsed = 0;

  private live = 0;
  private cancelledInHeap = 0;
  private processed = 0;
  private running = false;
  private stopRequested = false;

  constructor() {
    const cap = 1024;
    this.slotData = new Float64Array(2 * cap);
    for (let i = 0; i < cap; i++) this.slotData[2 * i + 1] = FREE;
    this.slotGen = new Int32Array(cap);
    this.freeSlots = new Int32Array(cap);
    // Filled, not sized, so V8 keeps it a packed array.
    this.slotPayload = new Array<unknown>(cap).fill(undefined);
  }

  /** The current simulated time. */
  get now(): Nanos {
    return this._now;
  }

  /** Events scheduled and neither fired nor cancelled. */
  get pending(): number {
    return this.live;
  }

  /** Events fired so far (cancelled ones not counted). */
  get eventsProcessed(): number {
    return this.processed;
  }

  /** Registers a handler; call once per kind of event, at set-up, not per event. */
  on<T = unknown>(handler: Handler<T>): HandlerId<T> {
    if (typeof handler !== "function") throw new TypeError("Simulation.on: handler must be a function");
    this.handlers.push(handler as Handler<unknown>);
    return (this.handlers.length - 1) as HandlerId<T>;
  }

  /** Schedules `handler(arg, payload)` after `delay` ns (>= 0, finite). */
  schedule<T>(delay: Nanos, handler: HandlerId<T>, arg = 0, payload?: NoInfer<T>): EventId {
    const time = this._now + delay;
    if (!(delay >= 0 && time <= MAX_NANOS)) {
      throw new RangeError(
        delay < 0
          ? `Simulation.schedule: negative delay ${delay} ns`
          : `Simulation.schedule: delay ${delay} ns is not finite or goes past the last exact time`,
      );
    }
    return this.insert(Math.round(time), handler, arg, payload);
  }

  /** Schedules `handler(arg, payload)` at absolute time `time` (>= now, finite). */
  scheduleAt<T>(time: Nanos, handler: HandlerId<T>, arg = 0, payload?: NoInfer<T>): EventId {
    if (!(time >= this._now && time <= MAX_NANOS)) {
      throw new RangeError(
        time < this._now
          ? `Simulation.scheduleAt: time ${time} ns is in the past (now is ${this._now} ns, ${formatDuration(this._now)})`
          : `Simulation.scheduleAt: time ${time} ns is not finite or past the last exact time`,
      );
    }
    return this.insert(Math.round(time), handler, arg, payload);
  }

  /**
   * Cancels a pending event. Returns true if it was pending, false if it already fired, was
   * already cancelled, or the id is not one of ours. The entry stays in the heap until it
   * surfaces (or until cancelled entries outnumber live ones and the heap is compacted).
   */
  cancel(id: EventId): boolean {
    if (!(id >= 0) || !Number.isInteger(id)) return false;
    const slot = id % SLOT_LIMIT;
    if (slot >= this.slotsUsed) return false;
    const gen = (id - slot) / SLOT_LIMIT;
    if (this.slotGen[slot] !== gen || this.slotData[2 * slot + 1] < 0) return false;
    this.slotData[2 * slot + 1] = CANCELLED;
    this.slotPayload[slot] = undefined;
    this.live--;
    this.cancelledInHeap++;
    if (this.cancelledInHeap >= COMPACT_MIN && this.cancelledInHeap > this.live) this.compact();
    return true;
  }

  /**
   * Processes events in order until the queue is empty or the next event is later than `until`
   * (events AT `until` are processed), then advances the clock to `until`. After stop() it
   * returns right after the current event, leaving the clock at that event's time.
   */
  run(until: Nanos = Infinity): void {
    if (this.running) throw new Error("Simulation.run: already running (called from inside a handler?)");
    if (!(until >= this._now)) {
      throw new RangeError(`Simulation.run: until=${until} ns is before now (${this._now} ns) or not a number`);
    }
    this.running = true;
    this.stopRequested = false;
    const heap = this.heap;
    const handlers = this.handlers;
    try {
      while (heap.size > 0 && heap.peekTime() <= until) {
        const slot = heap.pop();
        const data = this.slotData;
        const state = data[2 * slot + 1];
        data[2 * slot + 1] = FREE;
        this.freeSlots[this.freeCount++] = slot;
        if (state === CANCELLED) {
          this.cancelledInHeap--;
          continue;
        }
        this.live--;
        let payload: unknown;
        if ((state & 1) === 1) {
          payload = this.slotPayload[slot];
          this.slotPayload[slot] = undefined;
        }
        this._now = heap.lastTime;
        this.processed++;
        handlers[state >> 1](data[2 * slot], payload);
        if (this.stopRequested) return;
      }
      if (until !== Infinity && until > this._now) this._now = until;
    } finally {
      this.running = false;
      this.stopRequested = false;
    }
  }

  /** Makes the running run() return after the current event. Outside run() it does nothing. */
  stop(): void {
    if (this.running) this.stopRequested = true;
  }

  /** Processes the next event, if any; returns whether one was processed. */
  step(): boolean {
    if (this.running) throw new Error("Simulation.step: called from inside a handler");
    const heap = this.heap;
    while (heap.size > 0) {
      const slot = heap.pop();
      const state = this.slotData[2 * slot + 1];
      this.slotData[2 * slot + 1] = FREE;
      this.freeSlots[this.freeCount++] = slot;
      if (state === CANCELLED) {
        this.cancelledInHeap--;
        continue;
      }
      this.live--;
      const arg = this.slotData[2 * slot];
      const payload = this.slotPayload[slot];
      this.slotPayload[slot] = undefined;
      this._now = heap.lastTime;
      this.processed++;
      this.running = true;
      try {
        this.handlers[state >> 1](arg, payload);
      } finally {
        this.running = false;
        this.stopRequested = false;
      }
      return true;
    }
    return false;
  }

  /** Time of the next pending event, or Infinity if none. */
  peekTime(): Nanos {
    const heap = this.heap;
    // Discard cancelled entries at the top so the answer is a live event's time.
    while (heap.size > 0 && this.slotData[2 * heap.peekValue() + 1] === CANCELLED) {
      const slot = heap.pop();
      this.slotData[2 * slot + 1] = FREE;
      this.freeSlots[this.freeCount++] = slot;
      this.cancelledInHeap--;
    }
    return heap.peekTime();
  }

  private insert(time: number, handler: number, arg: number, payload: unknown): EventId {
    if (this.handlers[handler] === undefined) {
      throw new RangeError(`Simulation: unknown handler id ${handler} (register it with on())`);
    }
    let slot: number;
    if (this.freeCount > 0) {
      slot = this.freeSlots[--this.freeCount];
    } else {
      slot = this.slotsUsed;
      if (slot === this.slotGen.length) this.growSlots();
      this.slotsUsed = slot + 1;
    }
    const gen = (this.slotGen[slot] + 1) & GEN_MASK;
    this.slotGen[slot] = gen;
    const data = this.slotData;
    data[2 * slot] = arg;
    if (payload !== undefined) {
      this.slotPayload[slot] = payload;
      data[2 * slot + 1] = 2 * handler + 1;
    } else {
      data[2 * slot + 1] = 2 * handler;
    }
    this.heap.push(time, slot);
    this.live++;
    return (gen * SLOT_LIMIT + slot) as EventId;
  }

  private growSlots(): void {
    const old = this.slotGen.length;
    if (old >= SLOT_LIMIT) {
      throw new RangeError(`Simulation: more than ${SLOT_LIMIT} events pending at once`);
    }
    const cap = Math.min(old * 2, SLOT_LIMIT);
    const data = new Float64Array(2 * cap);
    data.set(this.slotData);
    for (let i = old; i < cap; i++) data[2 * i + 1] = FREE;
    const gen = new Int32Array(cap);
    gen.set(this.slotGen);
    const free = new Int32Array(cap);
    free.set(this.freeSlots);
    this.slotData = data;
    this.slotGen = gen;
    this.freeSlots = free;
    for (let i = old; i < cap; i++) this.slotPayload.push(undefined);
  }

  private compact(): void {
    const data = this.slotData;
    this.heap.removeWhere((slot) => {
      if (data[2 * slot + 1] !== CANCELLED) return false;
      data[2 * slot + 1] = FREE;
      this.freeSlots[this.freeCount++] = slot;
      return true;
    });
    this.cancelledInHeap = 0;
  }
}
