/**
 * Virtual time for the simulator: a single event queue ordered by (time, insertion order), and
 * a `Clock` whose timers are events in it. Nothing here reads real time.
 */
import type { Clock, Timer } from "../../src/common/clock.js";

interface SimEvent {
  readonly time: number;
  readonly order: number;
  readonly run: () => void;
  cancelled: boolean;
}

/** The event queue every simulated component shares. */
export class EventQueue {
  private heap: SimEvent[] = [];
  private counter = 0;
  now = 0;

  /** Schedules `run` at `now + delayMs`. */
  schedule(delayMs: number, run: () => void): { cancel(): void } {
    const event: SimEvent = {
      time: this.now + Math.max(0, delayMs),
      order: this.counter++,
      run,
      cancelled: false,
    };
    this.push(event);
    return {
      cancel: () => {
        event.cancelled = true;
      },
    };
  }

  /** Runs the next event; false when none is left before `until`. */
  runNext(until: number): boolean {
    for (;;) {
      const event = this.heap[0];
      if (!event || event.time > until) return false;
      this.pop();
      if (event.cancelled) continue;
      this.now = event.time;
      event.run();
      return true;
    }
  }

  get size(): number {
    return this.heap.length;
  }

  private less(a: SimEvent, b: SimEvent): boolean {
    return a.time < b.time || (a.time === b.time && a.order < b.order);
  }

  private push(event: SimEvent): void {
    const h = this.heap;
    h.push(event);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i] as SimEvent, h[parent] as SimEvent)) break;
      [h[i], h[parent]] = [h[parent] as SimEvent, h[i] as SimEvent];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as SimEvent;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l] as SimEvent, h[m] as SimEvent)) m = l;
      if (r < h.length && this.less(h[r] as SimEvent, h[m] as SimEvent)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m] as SimEvent, h[i] as SimEvent];
      i = m;
    }
  }
}

/** A clock over the event queue. Each node gets one; `alive` stops a crashed node's timers. */
export function createSimClock(queue: EventQueue, alive: () => boolean): Clock {
  return {
    now: () => 1_700_000_000_000 + queue.now,
    monotonic: () => queue.now,
    setTimer(ms, fn): Timer {
      return queue.schedule(ms, () => {
        if (alive()) fn();
      });
    },
    timeoutSignal(ms) {
      const controller = new AbortController();
      queue.schedule(ms, () => controller.abort(new Error("timeout")));
      return controller.signal;
    },
    sleep(ms) {
      return new Promise((resolve) => queue.schedule(ms, resolve));
    },
  };
}
