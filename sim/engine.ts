import { formatDuration } from "./time.js";
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
 * Slots hold what an event carries, so the queue moves only (time, slot). A slot is four
 * doubles side by side in one Float64Array — numeric argument, state, sequence number,
 * generation — so scheduling writes one cache line and firing reads it, which matters with a
 * million events pending. The state is FREE, CANCELLED, or 2·handler + (1 if a payload is
 * stored), so the payload array is only touched by events that carry one. The sequence number
 * is the event's insertion order: the queue's tie-break between equal times.
 *
 * An EventId is `generation * SLOT_LIMIT + slot`; the per-slot generation changes whenever the
 * slot is reused, so a stale id cannot cancel a later event. Generations wrap after 2^29 reuses
 * of one slot: a stale id would have to be held across exactly a multiple of 536,870,912 reuses
 * of its slot to collide.
 */
const SLOT_LIMIT = 2 ** 24;
const FREE = -1;
const CANCELLED = -2;
/** Offsets within a slot's four doubles. */
const ARG = 0;
const STATE = 1;
const SEQ = 2;
const GEN = 3;

/** Rebuild the queue without cancelled entries once they are this many and outnumber the live. */
const COMPACT_MIN = 1024;
const INITIAL_CAPACITY = 1024;

/**
 * The discrete-event kernel: a clock in integer nanoseconds and a queue of events keyed by
 * (time, insertion order), so that events at the same instant fire first-in first-out.
 *
 * Model code registers its handlers once with `on()` and then schedules events that name a
 * handler, a number and optionally an object: no closure is allocated per event.
 *
 * Times passed to schedule/scheduleAt are rounded to the nearest nanosecond, so the clock is
 * always an integer (a sampled 1234.6 ns delay fires at +1235 ns).
 *
 * The event queue is a binary min-heap over two typed arrays, times and slots, keyed by
 * (time, the slot's sequence number). It is EventHeap's algorithm (Floyd's bottom-up deletion)
 * with the sequence numbers kept in the slots instead of moved along in a third array: they
 * are read only when two times tie, so each level of a sift moves 12 bytes instead of 20 —
 * with a million events pending, fewer cache misses (on the hold model, 740 → 500 ns per
 * event). schedule() and run() are on every model's hot path and are kept small, with the
 * rare work (errors, growth, payloads) in separate methods: V8 inlines what a handler calls
 * only within a budget of bytecode, and a call it does not inline costs a frame and boxes the
 * doubles passed. For the same reason the hot methods write slot offsets and limits as
 * literals, with the constant's name beside: a module constant costs bytecode at each use.
 */
export class Simulation {
  private _now: Nanos = 0;
  private readonly handlers: Handler<unknown>[] = [];

  /** The queue: times[i] and slot heapSlots[i] for i < size, a heap on (time, slot's seq). */
  private times = new Float64Array(INITIAL_CAPACITY);
  private heapSlots = new Int32Array(INITIAL_CAPACITY);
  private size = 0;

  /**
   * [4·slot + ARG | STATE | SEQ | GEN], see SLOT_LIMIT's comment. A slot never used is FREE, of
   * generation 0 (the first id is 1·2^24).
   */
  private slots = new Float64Array(4 * INITIAL_CAPACITY);
  private slotPayload: unknown[] = new Array<unknown>(INITIAL_CAPACITY).fill(undefined);
  /**
   * The free slots, a stack: every slot starts on it, the lowest on top, and a slot is pushed
   * back when its event fires or is dropped. So insert() takes a slot from one place always —
   * a never-used slot from a branch of its own would be a branch V8 has no type feedback for
   * (the first few inserts run before V8 collects any), and the first insert of a new
   * Simulation would throw away the optimized code of insert() and of every handler it was
   * inlined into.
   */
  private freeSlots = new Int32Array(INITIAL_CAPACITY);
  private freeCount = 0;

  /** Events ever scheduled; the next one's sequence number. */
  private scheduled = 0;
  private cancelledInQueue = 0;
  private cancelledTotal = 0;
  private running = false;
  private stopRequested = false;

  constructor() {
    this.addFreeSlots(0, INITIAL_CAPACITY);
  }

  /** The current simulated time. */
  get now(): Nanos {
    return this._now;
  }

  /** Events scheduled and neither fired nor cancelled. */
  get pending(): number {
    return this.size - this.cancelledInQueue;
  }

  /** Events fired so far (cancelled ones not counted). */
  get eventsProcessed(): number {
    // Every event scheduled is pending, was cancelled, or has fired: no counter on the hot path.
    return this.scheduled - this.cancelledTotal - this.pending;
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
    if (!(delay >= 0 && time <= 9007199254740991)) throw badDelay(delay); // MAX_NANOS
    return this.insert(Math.round(time), handler, arg, payload);
  }

  /** Schedules `handler(arg, payload)` at absolute time `time` (>= now, finite). */
  scheduleAt<T>(time: Nanos, handler: HandlerId<T>, arg = 0, payload?: NoInfer<T>): EventId {
    if (!(time >= this._now && time <= 9007199254740991)) throw badTime(time, this._now); // MAX_NANOS
    return this.insert(Math.round(time), handler, arg, payload);
  }

  /**
   * Cancels a pending event. Returns true if it was pending, false if it already fired, was
   * already cancelled, or the id is not one of ours. The entry stays in the queue until it
   * surfaces (or until cancelled entries outnumber live ones and the queue is compacted).
   */
  cancel(id: EventId): boolean {
    if (!(id >= 0) || !Number.isInteger(id)) return false;
    const slot = id % SLOT_LIMIT;
    if (slot >= this.freeSlots.length) return false;
    const gen = (id - slot) / SLOT_LIMIT;
    const b = 4 * slot;
    if (this.slots[b + GEN] !== gen || this.slots[b + STATE] < 0) return false;
    this.slots[b + STATE] = CANCELLED;
    this.slotPayload[slot] = undefined;
    this.cancelledInQueue++;
    this.cancelledTotal++;
    if (this.cancelledInQueue >= COMPACT_MIN && this.cancelledInQueue > this.pending) this.compact();
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
    try {
      this.fire(until);
      if (!this.stopRequested && until !== Infinity && until > this._now) this._now = until;
    } finally {
      this.running = false;
      this.stopRequested = false;
    }
  }

  /**
   * run()'s loop: fires events in order until the queue is empty, the next event is later than
   * `until`, or a handler called stop(). A method of its own, so that nothing follows the loop
   * in it: V8 optimizes a long run() while it is in the loop (on-stack replacement), and code
   * after the loop would have run too rarely to carry type feedback — optimized code leaving the
   * loop would deoptimize at it, and be thrown away, at the end of every run.
   */
  private fire(until: Nanos): void {
    const handlers = this.handlers;
    while (this.size > 0 && this.times[0] <= until) {
      const time = this.times[0];
      const slot = this.popTop();
      const slots = this.slots;
      const b = 4 * slot;
      const state = slots[b + 1]; // STATE
      slots[b + 1] = -1; // FREE
      this.freeSlots[this.freeCount++] = slot;
      if (state === -2) {
        // CANCELLED
        this.cancelledInQueue--;
        continue;
      }
      this._now = time;
      // The handler may schedule, and reuse this slot at once: read what it needs first.
      if ((state & 1) === 0) handlers[state >> 1](slots[b], undefined);
      else handlers[state >> 1](slots[b], this.takePayload(slot));
      if (this.stopRequested) return;
    }
  }

  /** Makes the running run() return after the current event. Outside run() it does nothing. */
  stop(): void {
    if (this.running) this.stopRequested = true;
  }

  /** Processes the next event, if any; returns whether one was processed. */
  step(): boolean {
    if (this.running) throw new Error("Simulation.step: called from inside a handler");
    while (this.size > 0) {
      const time = this.times[0];
      const slot = this.popTop();
      const b = 4 * slot;
      const state = this.slots[b + STATE];
      this.slots[b + STATE] = FREE;
      this.freeSlots[this.freeCount++] = slot;
      if (state === CANCELLED) {
        this.cancelledInQueue--;
        continue;
      }
      const arg = this.slots[b + ARG];
      const payload = (state & 1) === 1 ? this.takePayload(slot) : undefined;
      this._now = time;
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
    // Discard cancelled entries at the top so the answer is a live event's time.
    while (this.size > 0 && this.slots[4 * this.heapSlots[0] + STATE] === CANCELLED) {
      const slot = this.popTop();
      this.slots[4 * slot + STATE] = FREE;
      this.freeSlots[this.freeCount++] = slot;
      this.cancelledInQueue--;
    }
    return this.size > 0 ? this.times[0] : Infinity;
  }

  private insert(time: number, handler: number, arg: number, payload: unknown): EventId {
    if (this.handlers[handler] === undefined) throw unknownHandler(handler);
    if (this.freeCount === 0) this.growSlots();
    const slot = this.freeSlots[--this.freeCount];
    const slots = this.slots;
    const b = 4 * slot;
    const gen = (slots[b + 3] + 1) & 0x1fffffff; // GEN, wrapping at 2^29
    slots[b] = arg; // ARG
    slots[b + 1] = payload === undefined ? 2 * handler : this.storePayload(slot, handler, payload); // STATE
    slots[b + 2] = this.scheduled++; // SEQ
    slots[b + 3] = gen;
    // Sift up. The new entry's sequence number is the largest so far, so on equal times it
    // never passes its parent: comparing times suffices. (The queue has room: it grows with
    // the slots, and holds at most one entry per slot in use.)
    const times = this.times;
    const heapSlots = this.heapSlots;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = times[p];
      if (pt <= time) break;
      times[i] = pt;
      heapSlots[i] = heapSlots[p];
      i = p;
    }
    times[i] = time;
    heapSlots[i] = slot;
    return (gen * 16777216 + slot) as EventId; // SLOT_LIMIT
  }

  /**
   * Removes the earliest entry and returns its slot (the caller has read its time). Floyd's
   * bottom-up deletion: walk the hole at the root down to a leaf along the smaller child (one
   * key comparison per level), then sift the former last entry up from there; it is almost
   * always large, so it rarely climbs.
   */
  private popTop(): number {
    const times = this.times;
    const heapSlots = this.heapSlots;
    const top = heapSlots[0];
    const n = --this.size;
    if (n === 0) return top;
    const slots = this.slots;
    const t = times[n];
    const s = heapSlots[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const d = c + 1;
      if (d < n) {
        const ct = times[c];
        const dt = times[d];
        if (dt < ct || (dt === ct && slots[4 * heapSlots[d] + 2] < slots[4 * heapSlots[c] + 2])) c = d; // SEQ
      }
      times[i] = times[c];
      heapSlots[i] = heapSlots[c];
      i = c;
    }
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = times[p];
      if (pt < t || (pt === t && slots[4 * heapSlots[p] + 2] < slots[4 * s + 2])) break; // SEQ
      times[i] = pt;
      heapSlots[i] = heapSlots[p];
      i = p;
    }
    times[i] = t;
    heapSlots[i] = s;
    return top;
  }

  /** Keeps an event's payload; returns the slot state that says it has one. */
  private storePayload(slot: number, handler: number, payload: unknown): number {
    this.slotPayload[slot] = payload;
    return 2 * handler + 1;
  }

  private takePayload(slot: number): unknown {
    const payload = this.slotPayload[slot];
    this.slotPayload[slot] = undefined;
    return payload;
  }

  /** Doubles the slots, and the queue with them (it holds at most one entry per slot). */
  private growSlots(): void {
    const old = this.freeSlots.length;
    if (old >= SLOT_LIMIT) {
      throw new RangeError(`Simulation: more than ${SLOT_LIMIT} events pending at once`);
    }
    const cap = Math.min(old * 2, SLOT_LIMIT);
    const slots = new Float64Array(4 * cap);
    slots.set(this.slots);
    const free = new Int32Array(cap);
    free.set(this.freeSlots);
    const times = new Float64Array(cap);
    times.set(this.times);
    const heapSlots = new Int32Array(cap);
    heapSlots.set(this.heapSlots);
    this.slots = slots;
    this.freeSlots = free;
    this.times = times;
    this.heapSlots = heapSlots;
    for (let i = old; i < cap; i++) this.slotPayload.push(undefined);
    this.addFreeSlots(old, cap); // all the old ones are in use: the stack is empty
  }

  /** Marks slots [from, to) FREE and puts them on the free stack, the lowest on top. */
  private addFreeSlots(from: number, to: number): void {
    for (let slot = to - 1; slot >= from; slot--) {
      this.slots[4 * slot + STATE] = FREE;
      this.freeSlots[this.freeCount++] = slot;
    }
  }

  /** Drops the cancelled entries and rebuilds the heap in O(n); FIFO order is unchanged. */
  private compact(): void {
    const times = this.times;
    const heapSlots = this.heapSlots;
    const slots = this.slots;
    let w = 0;
    for (let r = 0; r < this.size; r++) {
      const slot = heapSlots[r];
      if (slots[4 * slot + STATE] === CANCELLED) {
        slots[4 * slot + STATE] = FREE;
        this.freeSlots[this.freeCount++] = slot;
        continue;
      }
      times[w] = times[r];
      heapSlots[w] = slot;
      w++;
    }
    this.size = w;
    this.cancelledInQueue = 0;
    for (let i = (w >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** Is entry a before entry b in (time, sequence) order? */
  private before(a: number, b: number): boolean {
    const ta = this.times[a];
    const tb = this.times[b];
    return ta < tb || (ta === tb && this.slots[4 * this.heapSlots[a] + SEQ] < this.slots[4 * this.heapSlots[b] + SEQ]);
  }

  private siftDown(start: number): void {
    const n = this.size;
    let i = start;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.before(c + 1, c)) c++;
      if (!this.before(c, i)) break;
      this.swap(i, c);
      i = c;
    }
  }

  private swap(a: number, b: number): void {
    const t = this.times[a];
    this.times[a] = this.times[b];
    this.times[b] = t;
    const s = this.heapSlots[a];
    this.heapSlots[a] = this.heapSlots[b];
    this.heapSlots[b] = s;
  }
}

function badDelay(delay: number): RangeError {
  return new RangeError(
    delay < 0
      ? `Simulation.schedule: negative delay ${delay} ns`
      : `Simulation.schedule: delay ${delay} ns is not finite or goes past the last exact time`,
  );
}

function badTime(time: number, now: number): RangeError {
  return new RangeError(
    time < now
      ? `Simulation.scheduleAt: time ${time} ns is in the past (now is ${now} ns, ${formatDuration(now)})`
      : `Simulation.scheduleAt: time ${time} ns is not finite or past the last exact time`,
  );
}

function unknownHandler(handler: number): RangeError {
  return new RangeError(`Simulation: unknown handler id ${handler} (register it with on())`);
}
