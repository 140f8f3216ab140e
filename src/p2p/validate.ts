// Generic validation of one gossiped envelope, in the order that costs least first:
// blocklist, size, JSON, envelope schema, version, network, type, topic, per-type size,
// sender binding, payload schema, freshness, replay, then the type's own semantic check.
// Pure apart from reading the injected seen-cache; never throws.
import { decodeJson, envelopeSchema, messageDigest, MAX_ENVELOPE_BYTES, PROTOCOL_VERSION, type Envelope } from './envelope.js';
import { DEFAULT_FRESHNESS, type MessageRegistry } from './registry.js';
import { PING_TYPE } from './messages/ping.js';
import { ACCEPT, ignore, reject, type Verdict } from './verdict.js';
import type { SeenCache } from './seen-cache.js';

export interface ValidationContext {
  network: string;
  localEpoch: number;
  localRound: number;
  registry: MessageRegistry;
  seen: SeenCache;
  /** Reason if the peer is blocklisted, undefined otherwise. */
  blockedReason: (peerId: string) => string | undefined;
  /**
   * Where the message's author stands: 'staked' (in the staked peer table), 'probation' (not in
   * it, but on probation here, in the bootstrap grace, or its ping relayed by a staked peer: only
   * its pings are heard, so it can prove a stake) or 'outsider' (nothing is heard). Absent = everyone counts as staked (unit tests of the
   * envelope checks alone).
   */
  senderStanding?: (peerId: string) => 'staked' | 'probation' | 'outsider';
}

export interface ValidationOutcome {
  verdict: Verdict;
  envelope?: Envelope;
  digest?: string;
  /** Message type if it could be read, for metrics labels. */
  type?: string;
}

/**
 * @param bytes   the gossipsub message data
 * @param signer  the peer id that signed the gossipsub message (StrictSign), or undefined if unsigned
 * @param topic   short topic the message arrived on (without the /metanode/<net>/ prefix)
 */
export function validateMessage(bytes: Uint8Array, signer: string | undefined, topic: string, ctx: ValidationContext): ValidationOutcome {
  try {
    return validateInner(bytes, signer, topic, ctx);
  } catch (e) {
    // A schema or check function that throws is a bug in our code, not the peer's fault.
    return { verdict: ignore(`validator-error: ${e instanceof Error ? e.message : String(e)}`) };
  }
}

function validateInner(bytes: Uint8Array, signer: string | undefined, topic: string, ctx: ValidationContext): ValidationOutcome {
  if (signer === undefined) return { verdict: reject('unsigned') };
  const blocked = ctx.blockedReason(signer);
  // Ignore, not reject: a relayer that forwarded the message before the block is not at fault.
  if (blocked !== undefined) return { verdict: ignore('blocklisted') };
  // Only staked peers are heard, before any parsing and before relay; a peer on probation only
  // with its pings (its way in), checked once the type is known. Ignore, not reject: a relay
  // whose peer table already holds the author (ours has not heard its ping yet) forwarded it in
  // good faith, and gossipsub would lower the relay's score for a reject.
  const standing = ctx.senderStanding?.(signer) ?? 'staked';
  if (standing === 'outsider') return { verdict: ignore('unstaked-sender') };

  const onTopic = ctx.registry.typesOnTopic(topic);
  if (onTopic.length === 0) return { verdict: reject('unknown-topic') };
  const topicMax = Math.min(MAX_ENVELOPE_BYTES, Math.max(...onTopic.map((t) => ctx.registry.get(t)!.maxBytes)));
  if (bytes.length > topicMax) return { verdict: reject('oversized') };

  const decoded = decodeJson(bytes);
  if (!decoded.ok) return { verdict: reject(decoded.reason) };
  const parsed = envelopeSchema.safeParse(decoded.value);
  if (!parsed.success) return { verdict: reject('bad-envelope') };
  const env = parsed.data as Envelope;
  const type = env.type;

  if (env.version !== PROTOCOL_VERSION) return { verdict: reject('bad-version'), type };
  if (env.network !== ctx.network) return { verdict: reject('wrong-network'), type };
  const spec = ctx.registry.get(type);
  if (!spec) return { verdict: reject('unknown-type'), type };
  if (spec.topic !== topic) return { verdict: reject('wrong-topic'), type };
  if (bytes.length > spec.maxBytes) return { verdict: reject('oversized'), type };
  if (env.from !== signer) return { verdict: reject('from-mismatch'), type };
  if (standing === 'probation' && type !== PING_TYPE) return { verdict: ignore('unstaked-sender'), type };

  const payload = spec.schema.safeParse(env.payload);
  if (!payload.success) return { verdict: reject('bad-payload'), type };
  env.payload = payload.data;

  const f = { ...DEFAULT_FRESHNESS, ...spec.freshness };
  if (env.round + f.maxRoundsBehind < ctx.localRound) return { verdict: ignore('stale-round'), type };
  if (env.round > ctx.localRound + f.maxRoundsAhead) return { verdict: reject('future-round'), type };
  if (env.epoch + f.maxEpochsBehind < ctx.localEpoch) return { verdict: ignore('stale-epoch'), type };
  if (env.epoch > ctx.localEpoch + f.maxEpochsAhead) return { verdict: ignore('future-epoch'), type };

  const digest = messageDigest(bytes);
  if (ctx.seen.has(digest)) return { verdict: reject('replay'), type, digest };

  if (spec.check) {
    const v = spec.check(env);
    if (v.result !== 'accept') return { verdict: v, type, envelope: env, digest };
  }
  return { verdict: ACCEPT, envelope: env, digest, type };
}
