// The thin, impure side of a ceremony: feeds validated messages and timer ticks into the pure
// transition one at a time, and carries out its outbox through injected ports. Shared by
// keygen and regroup. Attestation signatures are checked here (async) before the transition
// sees them, so the transition only ever handles signatures that verified.
import type { Logger } from '../../util/log.js';
import { silentLogger } from '../../util/log.js';
import { errorMessage } from '../../util/errors.js';
import { signRecord, verifyAttestation, type SignFn, type VerifyFn } from '../../epochs/attest.js';
import type { CeremonyFailure, Outgoing, Step } from './ceremony.js';
import { AttestMessageSchema } from './messages.js';

/** Where a ceremony message goes; epoch/round are the envelope fields of this attempt. */
export interface CeremonyPorts {
  publish(type: string, payload: unknown, at: { epoch: number; round: number }): Promise<void>;
  sendDirect(peerId: string, type: string, payload: unknown, at: { epoch: number; round: number }): Promise<void>;
  /** Identity-key signer (libp2p PrivateKey.sign). */
  sign: SignFn;
  verify: VerifyFn;
  now(): number;
  log?: Logger;
}

export interface CeremonyEvent {
  kind: 'message' | 'tick';
}

export interface DriverSpec<S> {
  name: 'keygen' | 'regroup';
  self: string;
  epoch: number;
  round: number;
  step: (s: S, ev: { kind: 'tick'; now: number } | { kind: 'message'; now: number; from: string; type: string; payload: unknown }) => Step<S>;
  terminal: (s: S) => boolean;
  failureOf: (s: S) => CeremonyFailure | null;
  /** Message types that carry {record, attestation} and need their signature checked. */
  attestType: string;
  tickMs?: number;
}

export class CeremonyDriver<S> {
  private state: S;
  private queue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private resolveDone!: (s: S) => void;
  /** Resolves with the final state (done or failed). */
  readonly done: Promise<S>;
  private readonly log: Logger;

  constructor(private readonly spec: DriverSpec<S>, initial: Step<S>, private readonly ports: CeremonyPorts) {
    this.log = ports.log ?? silentLogger;
    this.state = initial.state;
    this.done = new Promise((r) => (this.resolveDone = r));
    this.enqueue(async () => this.apply(initial));
    if (spec.tickMs !== 0) {
      this.timer = setInterval(() => this.tick(), spec.tickMs ?? 500);
      this.timer.unref();
    }
  }

  get current(): S {
    return this.state;
  }

  /** Feed a message that passed envelope/schema validation for this ceremony's (epoch, round). */
  onMessage(from: string, type: string, payload: unknown): Promise<void> {
    return this.enqueue(async () => {
      if (this.spec.terminal(this.state)) return;
      if (type === this.spec.attestType) {
        const raw = (payload ?? {}) as { record?: unknown; attestation?: unknown };
        const p = AttestMessageSchema.safeParse({ record: raw.record, attestation: raw.attestation });
        if (!p.success || !(await verifyAttestation(p.data.record, p.data.attestation, this.ports.verify))) {
          this.log.warn({ ceremony: this.spec.name, from }, 'attestation with an invalid signature ignored');
          return;
        }
      }
      await this.apply(this.spec.step(this.state, { kind: 'message', now: this.ports.now(), from, type, payload }));
    });
  }

  tick(): Promise<void> {
    return this.enqueue(async () => {
      if (this.spec.terminal(this.state)) return;
      await this.apply(this.spec.step(this.state, { kind: 'tick', now: this.ports.now() }));
    });
  }

  /** Stops the timer; the ceremony is dropped if it has not ended (e.g. shutdown). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn).catch((e) => this.log.error({ ceremony: this.spec.name, err: errorMessage(e) }, 'ceremony driver error'));
    this.queue = next;
    return next;
  }

  private async apply(step: Step<S>): Promise<void> {
    this.state = step.state;
    for (const l of step.log) this.log[l.level]({ ceremony: this.spec.name, epoch: this.spec.epoch, round: this.spec.round, ...(l.data ?? {}) }, l.msg);
    const at = { epoch: this.spec.epoch, round: this.spec.round };
    const feedBack: Array<{ type: string; payload: unknown }> = [];
    for (const o of step.outbox) await this.send(o, at, feedBack);
    if (this.spec.terminal(this.state)) {
      this.stop();
      this.resolveDone(this.state);
      return;
    }
    for (const f of feedBack) await this.apply(this.spec.step(this.state, { kind: 'message', now: this.ports.now(), from: this.spec.self, type: f.type, payload: f.payload }));
  }

  private async send(o: Outgoing, at: { epoch: number; round: number }, feedBack: Array<{ type: string; payload: unknown }>): Promise<void> {
    try {
      if (o.to === 'gossip') await this.ports.publish(o.type, o.payload, at);
      else if (o.to === 'direct') await this.ports.sendDirect(o.peerId, o.type, o.payload, at);
      else {
        const attestation = await signRecord(o.record, this.spec.self, this.ports.sign);
        const payload = { ...(o.extra ?? {}), record: o.record, attestation };
        await this.ports.publish(this.spec.attestType, payload, at);
        feedBack.push({ type: this.spec.attestType, payload });
      }
    } catch (e) {
      // A failed send shows up as a timeout naming the silent party; the ceremony goes on.
      this.log.warn({ ceremony: this.spec.name, to: o.to, err: errorMessage(e) }, 'ceremony send failed');
    }
  }
}
