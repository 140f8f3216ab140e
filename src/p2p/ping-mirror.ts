// Doppelganger detection in a full mesh. gossipsub keeps one stream per peer id and never sends
// a message back to its author, so when every peer is connected to both instances of one
// identity, neither instance hears the other's pings. Every node therefore keeps the newest
// signed ping of each admitted peer exactly as gossipsub delivered it (StrictSign: author, data,
// sequence number, topic, signature) and hands a peer back its own on request. The asker checks
// the signature with its own public key, so a mirror cannot forge one; it can only withhold or
// replay, and a replayed ping of an earlier process is stamped before this one started
// (DoppelgangerWatch ignores it). Who can ask: any connected, unblocked peer, for its own pings
// only; the answer is one stored message, so asking costs the answering node nothing else.
import { z } from 'zod';
import { RPC } from '@chainsafe/libp2p-gossipsub/message';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import type { PeerId, SignedMessage } from '@libp2p/interface';
import { PING_MAX_BYTES } from './messages/ping.js';
import type { DirectKindSpec } from './direct.js';

export const PING_MIRROR_KIND = 'ping.mirror';

const hex = (maxBytes: number) => z.string().max(maxBytes * 2).regex(/^(?:[0-9a-f]{2})+$/, 'expected lowercase hex');

export const mirroredPingSchema = z
  .object({
    data: hex(PING_MAX_BYTES),
    /** gossipsub's 8-byte sequence number. */
    seqno: z.string().regex(/^[0-9a-f]{16}$/, 'expected 8 bytes of hex'),
    signature: hex(128),
    topic: z.string().min(1).max(200),
  })
  .strict();
export type MirroredPing = z.infer<typeof mirroredPingSchema>;

export const pingMirrorSpec = {
  request: z.object({}).strict(),
  response: z.object({ ping: mirroredPingSchema.nullable() }).strict(),
  maxRequestBytes: 64,
  maxResponseBytes: 4 * PING_MAX_BYTES + 1024,
} satisfies Omit<DirectKindSpec, 'handler'>;

/** The newest signed ping per peer, as received. One entry per admitted peer; dropped with it. */
export class PingMirror {
  private readonly last = new Map<string, { clock: number; ping: MirroredPing }>();

  note(from: string, clock: number, msg: SignedMessage): void {
    const prev = this.last.get(from);
    if (prev && prev.clock >= clock) return;
    const seqno = msg.sequenceNumber.toString(16).padStart(16, '0');
    if (seqno.length !== 16) return;
    this.last.set(from, { clock, ping: { data: bytesToHex(msg.data), seqno, signature: bytesToHex(msg.signature), topic: msg.topic } });
  }

  get(peerId: string): MirroredPing | null {
    return this.last.get(peerId)?.ping ?? null;
  }

  forget(peerId: string): void {
    this.last.delete(peerId);
  }

  get size(): number {
    return this.last.size;
  }
}

const SIGN_PREFIX = utf8ToBytes('libp2p-pubsub:');

/**
 * The message's data when `self` signed it as a gossipsub message (the bytes StrictSign signs:
 * "libp2p-pubsub:" + the protobuf message without signature and key); null otherwise.
 */
export async function openMirroredPing(self: PeerId, m: MirroredPing): Promise<Uint8Array | null> {
  if (!self.publicKey) return null;
  const data = hexToBytes(m.data);
  const bytes = concatBytes(SIGN_PREFIX, RPC.Message.encode({ from: self.toMultihash().bytes, data, seqno: hexToBytes(m.seqno), topic: m.topic }));
  try {
    return (await self.publicKey.verify(bytes, hexToBytes(m.signature))) ? data : null;
  } catch {
    return null;
  }
}
