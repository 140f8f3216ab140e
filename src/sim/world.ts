// The simulated world: virtual time, the event queue, the network model and the trace. Nodes
// register one message handler each (the scenario running on them); gossip reaches every other
// online node, a direct message its one recipient. A gossip message a sender hands to some peers
// only reaches the rest one hop later through the first peer that got it (gossipsub forwards
// every valid message it sees), so withholding from peers delays, it does not partition.
//
// Determinism: events run one at a time, fully (async handlers are awaited), in (time, sequence)
// order; every random draw comes from the run's Prng or the seeded entropy (entropy.ts). The
// trace hash covers every send (time, sender, type, body digest) and every delivery.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { EventQueue } from './queue.js';
import type { NetModel } from './net.js';

export interface Delivery {
  from: string;
  to: string;
  type: string;
  payload: unknown;
}

export type Handler = (d: Delivery) => void | Promise<void>;

export interface Traffic {
  messages: number;
  bytes: number;
}

export interface SendOptions {
  /** Hand the message to these peers only (the rest get it forwarded, one hop later). */
  only?: readonly string[];
}

export class World {
  now = 0;
  readonly queue = new EventQueue();
  private readonly trace = sha256.create();
  private readonly handlers = new Map<string, Handler>();
  readonly offline = new Set<string>();
  /** Members of the gossip mesh, in a fixed order. */
  readonly members: string[] = [];
  sent = new Map<string, Traffic>();
  received = new Map<string, Traffic>();
  steps = 0;
  private msgSeq = 0;
  /** Called after every event (invariant checks). */
  afterStep: () => void = () => {};

  constructor(readonly net: NetModel) {}

  join(node: string): void {
    if (!this.members.includes(node)) this.members.push(node);
  }

  handle(node: string, h: Handler | null): void {
    if (h) this.handlers.set(node, h);
    else this.handlers.delete(node);
  }

  /** This node's clock: virtual time plus its skew. */
  local(node: string): number {
    return this.now + (this.net.skew.get(node) ?? 0);
  }

  /** Global virtual time at which `node`'s clock shows `localMs`. */
  globalOf(node: string, localMs: number): number {
    return localMs - (this.net.skew.get(node) ?? 0);
  }

  at(time: number, run: () => void | Promise<void>): void {
    this.queue.push(Math.max(time, this.now), run);
  }

  /** Resets the per-node traffic counters (each scenario reports its own). */
  resetTraffic(): void {
    this.sent = new Map();
    this.received = new Map();
  }

  publish(from: string, type: string, payload: unknown, opts: SendOptions = {}): void {
    if (this.offline.has(from)) return;
    const { bytes, id } = this.record(from, type, payload, 'gossip');
    const others = this.members.filter((m) => m !== from);
    const first = opts.only ? others.filter((m) => opts.only!.includes(m)) : others;
    const arrival = new Map<string, number>();
    for (const to of first) {
      const d = this.net.delay(from, to, bytes, this.now);
      if (d !== null) arrival.set(to, this.now + d);
    }
    if (opts.only) {
      // Forwarded by the first peer that received it.
      const hops = [...arrival.entries()].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
      const relay = hops[0];
      if (relay) {
        for (const to of others) {
          if (arrival.has(to) || to === relay[0]) continue;
          const d = this.net.delay(relay[0], to, bytes, relay[1]);
          if (d !== null) arrival.set(to, relay[1] + d);
        }
      }
    }
    for (const to of others) {
      const t = arrival.get(to);
      if (t !== undefined) this.deliverAt(t, { from, to, type, payload }, bytes, id);
    }
  }

  direct(from: string, to: string, type: string, payload: unknown): void {
    if (this.offline.has(from)) return;
    const { bytes, id } = this.record(from, type, payload, `direct:${to}`);
    const d = this.net.delay(from, to, bytes, this.now);
    if (d !== null) this.deliverAt(this.now + d, { from, to, type, payload }, bytes, id);
  }

  private record(from: string, type: string, payload: unknown, how: string): { bytes: number; id: number } {
    const json = JSON.stringify(payload) ?? 'null';
    const bytes = json.length;
    const id = this.msgSeq++;
    const s = this.sent.get(from) ?? { messages: 0, bytes: 0 };
    s.messages++;
    s.bytes += bytes;
    this.sent.set(from, s);
    this.trace.update(utf8ToBytes(`${this.now}|S|${id}|${from}|${how}|${type}|${bytesToHex(sha256(utf8ToBytes(json)))}\n`));
    return { bytes, id };
  }

  private deliverAt(time: number, d: Delivery, bytes: number, id: number): void {
    this.at(time, async () => {
      if (this.offline.has(d.to)) return;
      const h = this.handlers.get(d.to);
      if (!h) return;
      const r = this.received.get(d.to) ?? { messages: 0, bytes: 0 };
      r.messages++;
      r.bytes += bytes;
      this.received.set(d.to, r);
      this.trace.update(utf8ToBytes(`${this.now}|D|${id}|${d.to}\n`));
      await h(d);
    });
  }

  /** Adds a line to the trace (scenario boundaries, outcomes). */
  note(line: string): void {
    this.trace.update(utf8ToBytes(`${this.now}|N|${line}\n`));
  }

  /**
   * Runs events in order until `done()` holds, the queue is empty or virtual time passes
   * `until`. Returns why it stopped.
   */
  async run(done: () => boolean, until: number): Promise<'done' | 'idle' | 'time'> {
    for (;;) {
      if (done()) return 'done';
      const next = this.queue.peek();
      if (!next) return 'idle';
      if (next.at > until) return 'time';
      const e = this.queue.pop()!;
      this.now = e.at;
      await e.run();
      this.steps++;
      this.afterStep();
    }
  }

  traceHash(): string {
    return bytesToHex(this.trace.clone().digest());
  }
}
