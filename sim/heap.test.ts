import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { EventHeap } from "./heap.js";

describe("EventHeap", () => {
  it("pops in (time, insertion) order, growing past its initial capacity", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 300 }), (times) => {
        const heap = new EventHeap(4);
        times.forEach((t, i) => heap.push(t, i));
        const expected = times.map((t, i) => ({ t, i })).sort((a, b) => a.t - b.t || a.i - b.i);
        const got: Array<{ t: number; i: number }> = [];
        while (heap.size > 0) {
          const i = heap.pop();
          got.push({ t: heap.lastTime, i });
        }
        expect(got).toEqual(expected);
        expect(heap.pop()).toBe(-1);
      }),
    );
  });

  it("keeps (time, insertion) order when pushes and pops interleave", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 5 })), { maxLength: 400 }),
        (ops) => {
          const heap = new EventHeap(2);
          const model: Array<{ t: number; i: number }> = [];
          let now = 0;
          ops.forEach((op, i) => {
            if (op < 0) {
              if (model.length === 0) return expect(heap.pop()).toBe(-1);
              model.sort((a, b) => a.t - b.t || a.i - b.i);
              const want = model.shift() as { t: number; i: number };
              expect(heap.pop()).toBe(want.i);
              expect(heap.lastTime).toBe(want.t);
              now = want.t;
            } else {
              heap.push(now + op, i);
              model.push({ t: now + op, i });
            }
          });
          expect(heap.size).toBe(model.length);
        },
      ),
    );
  });

  it("removeWhere drops entries and keeps FIFO order among the rest", () => {
    const heap = new EventHeap();
    for (let i = 0; i < 1000; i++) heap.push(i % 7, i);
    expect(heap.removeWhere((v) => v % 3 === 0)).toBe(334);
    const got: number[] = [];
    while (heap.size > 0) got.push(heap.pop());
    const want = Array.from({ length: 1000 }, (_, i) => i)
      .filter((i) => i % 3 !== 0)
      .sort((a, b) => (a % 7) - (b % 7) || a - b);
    expect(got).toEqual(want);
  });

  it("peeks without removing", () => {
    const heap = new EventHeap();
    expect(heap.peekTime()).toBe(Infinity);
    expect(heap.peekValue()).toBe(-1);
    heap.push(5, 1);
    heap.push(3, 2);
    expect(heap.peekTime()).toBe(3);
    expect(heap.peekValue()).toBe(2);
    expect(heap.size).toBe(2);
  });
});
