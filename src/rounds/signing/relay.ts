// Passing on another peer's signed round message (sign.relay). A node relays what it holds when
// that settles a dispute: both messages of an equivocation (so every honest node holds the
// proof), the commit behind an ack that differs from ours, the signing sets behind a checksum
// that differs from ours. Each held message is relayed at most once per round.
import type { TssProofContext } from '../../crypto/proof.js';
import { publish, type Ctx } from './ctx.js';
import { MSG } from './messages.js';

/** The signature context of `peer`'s messages in this round. */
export function sigCtx(c: Ctx, peer: string): TssProofContext {
  return { network: c.s.cfg.network, epoch: c.s.cfg.epoch, peerId: peer, round: c.s.cfg.roundId };
}

/**
 * Relays `author`'s signed message(s) for `slot`: the ones given (an equivocation's pair), else the
 * one held. Own messages are sent again instead (the driver signs them), so a peer that claims we
 * said something else sees what we said.
 */
export function relaySlot(c: Ctx, author: string, slot: string, payloads?: Array<Record<string, unknown>>): void {
  const key = `${author}|${slot}`;
  if (c.s.relayed.includes(key)) return;
  const type = slot.split('|')[0]!;
  if (author === c.s.cfg.self) {
    const own = ownMessage(c, type, slot);
    if (!own) return;
    c.s.relayed.push(key);
    publish(c, type, own);
    return;
  }
  const list = payloads ?? (c.s.slots[key] ? [c.s.slots[key]!.payload] : []);
  if (list.length === 0) return;
  c.s.relayed.push(key);
  for (const payload of list) publish(c, MSG.relay, { peer: author, type, payload });
}

function ownMessage(c: Ctx, type: string, slot: string): unknown {
  const self = c.s.cfg.self;
  const attempt = Number(slot.split('|')[1]);
  switch (type) {
    case MSG.commit: return c.s.commits[attempt]?.[self];
    case MSG.signingSet: return c.s.signingSets[self];
    default: return undefined;
  }
}
