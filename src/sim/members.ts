// Simulated members: an Ed25519 identity each (libp2p keys from seeded bytes, so peer ids are the
// real kind and attestations verify with the production verifier) and a stake table that puts
// them in a fixed seniority order.
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Prng } from '../util/prng.js';
import type { StakedPeer } from '../rounds/committee.js';

export interface Member {
  peerId: string;
  /** Index in creation order (0 = most senior). */
  index: number;
  sign(bytes: Uint8Array): Uint8Array | Promise<Uint8Array>;
  stake: StakedPeer;
}

export async function makeMember(prng: Prng, index: number): Promise<Member> {
  const key = await generateKeyPairFromSeed('Ed25519', prng.bytes(32));
  // Two copies of @libp2p/interface in node_modules make the key types nominally different.
  const peerId = peerIdFromPrivateKey(key as unknown as Parameters<typeof peerIdFromPrivateKey>[0]).toString();
  return { peerId, index, sign: (b) => key.sign(b), stake: { peerId, stakeHeight: 100 + index, stakeTxid: bytesToHex(prng.bytes(32)) } };
}
