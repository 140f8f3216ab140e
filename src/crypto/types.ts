// Plain-data records of the threshold key. Byte fields are lowercase hex so records serialize
// to JSON and SQLite unchanged. FROST identifiers are noble's 32-byte scalar hex strings of the
// member's committee position + 1 (identifiers.ts).
import type { Network } from '../chain/types.js';

/** Public record of one epoch's key, identical on every node of the committee. */
export interface EpochKey {
  epoch: number;
  network: Network;
  /** Taproot output key Q, x-only hex (32 bytes): what noble's DKG reports as the group key. */
  outputKey: string;
  /** Taproot internal key P, x-only hex: sum of every dealer's commitment[0]. */
  internalKey: string;
  threshold: number;
  /** Committee members in seniority order. */
  committee: CommitteeMember[];
  /** FROST identifier -> compressed verifying share (33-byte hex), of the tweaked key. */
  verifyingShares: Record<string, string>;
  /** Merged Feldman commitments (hex), TapTweaked as noble's DKG outputs them: commitments[0] = Q. */
  commitments: string[];
}

export interface CommitteeMember {
  peerId: string;
  /** FROST identifier (hex scalar): committee position + 1 (identifiers.ts), fixed per epoch. */
  identifier: string;
}

/** One member's secret share of an epoch key. Never logged, stored only encrypted. */
export interface KeyShare {
  epoch: number;
  identifier: string;
  signingShare: string; // hex scalar
}
