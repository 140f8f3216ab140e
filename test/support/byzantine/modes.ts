// Misbehaviours for the chaos harness, test code only: test/support/node-main.ts wraps the
// production node with them (its settings come from METANODE_TEST_NODE, never from the node's
// config). Each mode is a small transformation of what the honest node would send, so no second
// protocol implementation exists. The pure functions are exported for the unit tests; Byzantine
// wires them to a node.
//
//   wrong-proposal  sign.proposal for a document nobody built (random h0, h1)
//   equivocate      the honest sign.proposal, then a second, different one in the same round
//   invalid-share   sign.share with one signature share altered
//   copied-proof    sign.proposal carrying another member's tss_proof for this round
//   replay          re-publishes envelopes of older rounds (own and other authors')
//   garbage         non-UTF-8 bytes, non-JSON, a non-envelope and a bad payload on the signing topic
//   oversized       envelopes beyond their type's byte limit (sign.proposal, ping)
//   flood           every signing message sent `floodCount` times
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@noble/hashes/utils.js';
import { encodeEnvelope, PROTOCOL_VERSION, type Envelope } from '../../../src/p2p/envelope.js';
import { PING_TYPE, PING_TOPIC } from '../../../src/p2p/messages/ping.js';
import { MSG, SIGNING_TOPIC, isSigningMessageType, type ProposalPayload, type SharePayload } from '../../../src/rounds/signing/messages.js';
import type { Logger } from '../../../src/util/log.js';
import { errorMessage } from '../../../src/util/errors.js';
import type { MessageAt } from '../../../src/node/outbound.js';

/** The misbehaviours a chaos node can be switched to. */
export const BYZANTINE_MODES = ['wrong-proposal', 'equivocate', 'invalid-share', 'copied-proof', 'replay', 'garbage', 'oversized', 'flood'] as const;
export type ByzantineMode = (typeof BYZANTINE_MODES)[number];
export type ByzantineSetting = ByzantineMode | 'none';

const enc = new TextEncoder();
const hex32 = (rand: (n: number) => Uint8Array) => bytesToHex(rand(32));

/** A proposal for a document nobody built: h0 and h1 replaced, the (valid) tss_proof kept. */
export function wrongProposal(p: ProposalPayload, rand: (n: number) => Uint8Array = randomBytes): ProposalPayload {
  return { ...p, h0: hex32(rand), h1: hex32(rand) };
}

/** One signature share altered (last hex digit's low bit flipped): fails share verification. */
export function corruptShares(p: SharePayload): SharePayload {
  const s0 = p.shares[0]!;
  const flipped = s0.slice(0, -1) + (parseInt(s0.slice(-1), 16) ^ 1).toString(16);
  return { ...p, shares: [flipped, ...p.shares.slice(1)] };
}

/** The proposal with someone else's tss_proof in place of our own. */
export function withCopiedProof(p: ProposalPayload, proof: string): ProposalPayload {
  return { ...p, tssProof: proof };
}

/** The envelope bytes an honest node would publish for (type, payload) at (epoch, round). */
export function envelopeBytes(network: string, from: string, type: string, payload: unknown, at: MessageAt): Uint8Array {
  const env: Envelope = { version: PROTOCOL_VERSION, network, epoch: at.epoch, round: at.round, type, from, payload };
  return encodeEnvelope(env);
}

export interface RawMessage {
  topic: string;
  bytes: Uint8Array;
  /** The validator's verdict reason an honest receiver gives (what the unit tests assert). */
  expect: string;
}

/** Malformed messages on the signing topic, one per layer of validateMessage. */
export function garbageMessages(network: string, from: string, at: MessageAt, rand: (n: number) => Uint8Array = randomBytes): RawMessage[] {
  const junk = rand(48);
  junk[0] = 0xff; // never valid UTF-8
  return [
    { topic: SIGNING_TOPIC, bytes: junk, expect: 'not-utf8' },
    { topic: SIGNING_TOPIC, bytes: enc.encode(`{"version":1,"network":"${network}",` + bytesToHex(rand(8))), expect: 'not-json' },
    { topic: SIGNING_TOPIC, bytes: enc.encode(JSON.stringify({ hello: bytesToHex(rand(8)), round: at.round })), expect: 'bad-envelope' },
    {
      topic: SIGNING_TOPIC,
      bytes: envelopeBytes(network, from, MSG.candidate, { docHash: 'not-a-hash', anchorHeight: -1, junk: bytesToHex(rand(8)) }, at),
      expect: 'bad-payload',
    },
  ];
}

/** Envelopes beyond their type's byte limit: a 64 KiB sign.proposal (limit 4 KiB) and an 8 KiB ping (limit 2 KiB). */
export function oversizedMessages(network: string, from: string, at: MessageAt, rand: (n: number) => Uint8Array = randomBytes): RawMessage[] {
  const pad = (n: number) => bytesToHex(rand(n / 2));
  return [
    { topic: SIGNING_TOPIC, bytes: envelopeBytes(network, from, MSG.proposal, { h0: hex32(rand), h1: hex32(rand), tssProof: pad(64 * 1024) }, at), expect: 'oversized' },
    { topic: PING_TOPIC, bytes: envelopeBytes(network, from, PING_TYPE, { status: 'ok', state: 'idle', stake: pad(8 * 1024) }, at), expect: 'oversized' },
  ];
}

/**
 * Envelopes from rounds at least two before `round` (older than any signing message is
 * accepted), newest first, at most `max`. Honest receivers ignore our own (stale round) and
 * reject other authors' (from-mismatch: the gossip signature is ours).
 */
export function pickReplays(recorded: Envelope[], round: number, max: number): Envelope[] {
  return recorded.filter((e) => e.round <= round - 2).sort((a, b) => b.round - a.round).slice(0, max);
}

export interface ByzantineDeps {
  peerId: string;
  network: string;
  mode: ByzantineSetting;
  floodCount: number;
  /** Length of a round in ms: a held proposal (copied-proof) is given up at the round's end. */
  roundMs: number;
  now(): number;
  publish(type: string, payload: unknown, at: MessageAt): Promise<unknown>;
  publishRaw(topic: string, bytes: Uint8Array): Promise<unknown>;
  subscribe(type: string, handler: (env: Envelope) => void): () => void;
  log: Logger;
  rand?: (n: number) => Uint8Array;
}

const MAX_RECORDED = 200;
const REPLAYS_PER_ROUND = 6;

/** One node's misbehaviour, switchable at run time (setMode) by the test control endpoint. */
export class Byzantine {
  private modeNow: ByzantineSetting;
  private readonly rand: (n: number) => Uint8Array;
  private readonly unsubscribe: Array<() => void> = [];
  /** Envelopes seen (received and own) for the replay mode, oldest first. */
  private readonly recorded: Envelope[] = [];
  /** tss_proofs of other peers by "epoch/round", for the copied-proof mode. */
  private readonly proofs = new Map<string, Map<string, string>>();
  /** A proposal held back until another member's proof for its round is known. */
  private held: { payload: ProposalPayload; at: MessageAt; until: number } | null = null;
  private lastBurstRound = -1;
  /** What this node did, per action, for the harness and the logs. */
  readonly actions: Record<string, number> = {};

  constructor(private readonly d: ByzantineDeps) {
    this.modeNow = d.mode;
    this.rand = d.rand ?? randomBytes;
    for (const type of Object.values(MSG)) this.unsubscribe.push(d.subscribe(type, (env) => this.observe(env)));
    this.unsubscribe.push(d.subscribe(PING_TYPE, (env) => this.observe(env)));
  }

  get mode(): ByzantineSetting {
    return this.modeNow;
  }

  setMode(mode: ByzantineSetting): void {
    if (mode !== this.modeNow) this.d.log.warn({ from: this.modeNow, to: mode }, 'byzantine (test code): mode changed');
    this.modeNow = mode;
    this.held = null;
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  outgoing(type: string, payload: unknown, at?: MessageAt): unknown | null {
    if (!at || !isSigningMessageType(type)) return payload;
    this.remember({ version: PROTOCOL_VERSION, network: this.d.network, epoch: at.epoch, round: at.round, type, from: this.d.peerId, payload });
    const mode = this.modeNow;
    if (mode === 'none') return payload;
    if (at.round !== this.lastBurstRound) {
      this.lastBurstRound = at.round;
      this.roundBurst(mode, at);
    }
    switch (mode) {
      case 'wrong-proposal':
        if (type !== MSG.proposal) return payload;
        this.did('wrong-proposal');
        return wrongProposal(payload as ProposalPayload, this.rand);
      case 'equivocate':
        if (type !== MSG.proposal) return payload;
        this.did('equivocate');
        // Published right after the honest one (gossip keeps one author's order).
        this.send(type, wrongProposal(payload as ProposalPayload, this.rand), at, true);
        return payload;
      case 'invalid-share':
        if (type !== MSG.share) return payload;
        this.did('invalid-share');
        return corruptShares(payload as SharePayload);
      case 'copied-proof': {
        if (type !== MSG.proposal) return payload;
        const p = payload as ProposalPayload;
        const proof = this.proofFor(at);
        if (proof !== undefined) {
          this.did('copied-proof');
          return withCopiedProof(p, proof);
        }
        // Nobody's proof for this round has arrived yet: hold ours until one does.
        this.held = { payload: p, at, until: (at.round + 1) * this.d.roundMs };
        return null;
      }
      case 'flood':
        for (let i = 1; i < this.d.floodCount; i++) this.send(type, payload, at, false, false);
        this.did('flood', this.d.floodCount - 1);
        return payload;
      default:
        return payload;
    }
  }

  /** Once per round, at its first signing message: the burst modes. */
  private roundBurst(mode: ByzantineSetting, at: MessageAt): void {
    let raw: RawMessage[] = [];
    if (mode === 'garbage') raw = garbageMessages(this.d.network, this.d.peerId, at, this.rand);
    else if (mode === 'oversized') raw = oversizedMessages(this.d.network, this.d.peerId, at, this.rand);
    else if (mode === 'replay') {
      raw = pickReplays(this.recorded, at.round, REPLAYS_PER_ROUND).map((e) => ({
        topic: e.type === PING_TYPE ? PING_TOPIC : SIGNING_TOPIC,
        bytes: encodeEnvelope(e),
        expect: e.from === this.d.peerId ? 'stale-round' : 'from-mismatch',
      }));
    }
    if (raw.length === 0) return;
    this.did(mode, raw.length);
    this.d.log.warn({ mode, round: at.round, messages: raw.length }, 'byzantine (test code): publishing malformed messages');
    for (const m of raw) this.d.publishRaw(m.topic, m.bytes).catch((e) => this.d.log.debug({ err: errorMessage(e) }, 'byzantine raw publish failed'));
  }

  private observe(env: Envelope): void {
    if (env.from === this.d.peerId) return;
    if (isSigningMessageType(env.type)) this.remember(env);
    const proof = env.type === PING_TYPE ? (env.payload as { tss_proof?: string }).tss_proof : env.type === MSG.proposal ? (env.payload as ProposalPayload).tssProof : undefined;
    if (proof === undefined) return;
    const key = `${env.epoch}/${env.round}`;
    let m = this.proofs.get(key);
    if (!m) {
      this.proofs.set(key, (m = new Map()));
      if (this.proofs.size > 8) this.proofs.delete(this.proofs.keys().next().value!);
    }
    m.set(env.from, proof);
    const h = this.held;
    if (h && this.modeNow === 'copied-proof' && h.at.epoch === env.epoch && h.at.round === env.round) {
      this.held = null;
      if (this.d.now() >= h.until) return;
      this.did('copied-proof');
      this.send(MSG.proposal, withCopiedProof(h.payload, proof), h.at, false);
    }
  }

  private proofFor(at: MessageAt): string | undefined {
    const m = this.proofs.get(`${at.epoch}/${at.round}`);
    return m ? [...m.values()][0] : undefined;
  }

  private remember(env: Envelope): void {
    this.recorded.push(env);
    if (this.recorded.length > MAX_RECORDED) this.recorded.splice(0, this.recorded.length - MAX_RECORDED);
  }

  private did(action: string, n = 1): void {
    this.actions[action] = (this.actions[action] ?? 0) + n;
  }

  /** `after`: once the message being sent now has left (next turn of the event loop). */
  private send(type: string, payload: unknown, at: MessageAt, after: boolean, log = true): void {
    const go = () =>
      void this.d.publish(type, payload, at).catch((e) => {
        if (log) this.d.log.debug({ type, err: errorMessage(e) }, 'byzantine publish failed');
      });
    if (after) setImmediate(go);
    else go();
  }
}
