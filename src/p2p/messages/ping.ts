// Ping (seed 004 "Continuous pings"): every few seconds each node announces that it is up, what
// it is doing, which stake backs it, and (once it holds a share) a proof of that share.
import { z } from 'zod';
import { registerMessageType } from '../registry.js';
import { ACCEPT, reject, type Verdict } from '../verdict.js';
import type { Envelope } from '../envelope.js';

export const PING_TYPE = 'ping';
export const PING_TOPIC = 'ping';
export const PING_MAX_BYTES = 2048;

export const NODE_STATES = ['bootstrapping', 'idle', 'keygen', 'signing', 'cooldown', 'regroup'] as const;
export type NodeState = (typeof NODE_STATES)[number];

export const outpointSchema = z.string().regex(/^[0-9a-f]{64}:\d{1,6}$/, 'outpoint must be <txid hex>:<vout>');

export const pingPayloadSchema = z
  .object({
    status: z.literal('ok'),
    state: z.enum(NODE_STATES),
    stake: outpointSchema,
    /** Absent only while no key exists yet (or the sender holds no share of the current key). */
    tss_proof: z.string().regex(/^(?:[0-9a-f]{2}){1,128}$/).optional(),
    /** Sender's wall clock, unix ms. */
    clock: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    /** Sender's chain tip height. */
    tip: z.number().int().nonnegative().max(100_000_000),
    /** Sender's announced listen multiaddrs (no DHT: this is how peers learn where to redial). */
    addrs: z.array(z.string().min(1).max(200)).max(8).optional(),
  })
  .strict();

export type PingPayload = z.infer<typeof pingPayloadSchema>;

export function checkPing(env: Envelope<PingPayload>): Verdict {
  // A stake outpoint's vout is bounded by the tx's output count; anything this large is forged.
  const vout = Number(env.payload.stake.split(':')[1]);
  if (!Number.isSafeInteger(vout) || vout > 100_000) return reject('bad-payload');
  return ACCEPT;
}

// Pings live on their own topic and tolerate one round of lateness either way.
registerMessageType<PingPayload>(PING_TYPE, {
  schema: pingPayloadSchema,
  maxBytes: PING_MAX_BYTES,
  topic: PING_TOPIC,
  // A ping is the liveness signal: its epoch says which key the proof is for and never makes it
  // stale. Nodes a few epochs apart (after a keygen only some adopted) must keep hearing each
  // other, or they drop each other and epoch catch-up has nobody to ask.
  freshness: { maxRoundsBehind: 1, maxRoundsAhead: 1, maxEpochsBehind: Number.MAX_SAFE_INTEGER, maxEpochsAhead: Number.MAX_SAFE_INTEGER },
  check: checkPing,
});

export function parseOutpoint(s: string): { txid: string; vout: number } {
  const [txid, vout] = s.split(':');
  return { txid: txid!, vout: Number(vout) };
}
