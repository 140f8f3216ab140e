// The simulator's event queue: a binary heap ordered by virtual time, ties broken by insertion
// order (a sequence number), so two runs of one seed pop events in the same order.
export interface SimEvent {
  at: number;
  seq: number;
  run: () => void | Promise<void>;
}

export class EventQueue {
  private heap: SimEvent[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, run: SimEvent['run']): void {
    if (!Number.isFinite(at)) throw new Error(`sim: event time must be finite, got ${at}`);
    const e: SimEvent = { at, seq: this.seq++, run };
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  peek(): SimEvent | undefined {
    return this.heap[0];
  }

  /** Drops every pending event (a scenario's leftovers: late deliveries, ticks of ended drivers). */
  clear(): number {
    const n = this.heap.length;
    this.heap = [];
    return n;
  }

  pop(): SimEvent | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
