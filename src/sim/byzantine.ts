// Byzantine strategies of the simulation, applied where a member's messages leave it: the sim
// changes, drops or splits what the member's own (unmodified) round state machine publishes,
// then signs each body with that member's own share, as a modified node holding that share
// would. Production code is never changed. Strategies act in the custody signing rounds; in
// keygen and regroup a Byzantine member follows the protocol (see README "Simulation": those
// ceremonies need every participant, so any deviation there aborts the attempt).
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Prng } from '../util/prng.js';
import { MSG } from '../rounds/signing/messages.js';

export const STRATEGIES = ['silent', 'withhold', 'bad-share', 'other-document', 'copied-proof', 'bad-checksum', 'equivocate'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface ByzContext {
  self: string;
  /** Every other mesh member, fixed order. */
  peers: readonly string[];
  prng: Prng;
  /** tss_proofs other members put on the wire in this round (public once sent). */
  seenProofs: ReadonlyMap<string, string>;
}

export interface Part {
  payload: unknown;
  /** Only these peers get it first (default all). */
  only?: string[];
}

const randomHex32 = (p: Prng) => bytesToHex(p.bytes(32));

/** What a member following `strategy` sends instead of (type, payload); [] = nothing. */
export function tamper(strategy: Strategy, type: string, payload: unknown, ctx: ByzContext): Part[] {
  const body = payload as Record<string, unknown>;
  switch (strategy) {
    case 'silent':
      return [];
    case 'withhold':
      // Hands each message to a third of its peers only.
      return [{ payload, only: ctx.prng.sample(ctx.peers, Math.max(1, Math.floor(ctx.peers.length / 3))) }];
    case 'bad-share':
      if (type !== MSG.share) return [{ payload }];
      return [{ payload: { ...body, shares: (body.shares as string[]).map(() => randomHex32(ctx.prng)) } }];
    case 'other-document':
      if (type !== MSG.proposal) return [{ payload }];
      return [{ payload: { ...body, h0: randomHex32(ctx.prng), h1: randomHex32(ctx.prng) } }];
    case 'copied-proof': {
      if (type !== MSG.proposal) return [{ payload }];
      const others = [...ctx.seenProofs.entries()].filter(([p]) => p !== ctx.self).sort((a, b) => (a[0] < b[0] ? -1 : 1));
      if (others.length === 0) return [{ payload }];
      return [{ payload: { ...body, tssProof: ctx.prng.pick(others)[1] } }];
    }
    case 'bad-checksum':
      if (type !== MSG.checksum) return [{ payload }];
      return [{ payload: { ...body, checksum: randomHex32(ctx.prng) } }];
    case 'equivocate': {
      // Two different signed signing sets for one slot, each to half of the peers.
      if (type !== MSG.signingSet) return [{ payload }];
      const members = body.members as string[];
      if (members.length < 2) return [{ payload }];
      const half = ctx.prng.sample(ctx.peers, Math.floor(ctx.peers.length / 2));
      const rest = ctx.peers.filter((p) => !half.includes(p));
      return [
        { payload, only: half },
        { payload: { ...body, members: members.slice(0, -1) }, only: rest },
      ];
    }
  }
}
