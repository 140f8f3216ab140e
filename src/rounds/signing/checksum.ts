// Step 5: each member broadcasts a checksum of its threshold set; any mismatch aborts the round
// and the outliers (the minority) are blocked.
import { sha512_256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/** sha512_256 over round id, document hash and the ordered threshold set. */
export function thresholdSetChecksum(roundId: number, docHash: string, thresholdSet: string[]): string {
  return bytesToHex(sha512_256(utf8ToBytes(`metanode/threshold-set/1\n${roundId}\n${docHash}\n${thresholdSet.join('\n')}\n`)));
}

export interface ChecksumComparison {
  /** The value held by the strict largest group, or null on a tie. */
  majority: string | null;
  /** Peers whose checksum differs from the majority (all differing peers on a tie). */
  outliers: string[];
  agreeing: string[];
}

/** `received` includes our own checksum under our own peer id. */
export function compareChecksums(received: Record<string, string>, self: string): ChecksumComparison {
  const groups = new Map<string, string[]>();
  for (const [peer, c] of Object.entries(received)) groups.set(c, [...(groups.get(c) ?? []), peer]);
  const sorted = [...groups.entries()].sort((a, b) => b[1].length - a[1].length);
  const top = sorted[0];
  if (!top) return { majority: null, outliers: [], agreeing: [] };
  const tie = sorted.length > 1 && sorted[1]![1].length === top[1].length;
  if (tie) {
    const own = received[self];
    const mine = own !== undefined ? groups.get(own)! : [];
    return { majority: null, outliers: Object.keys(received).filter((p) => !mine.includes(p)).sort(), agreeing: [...mine].sort() };
  }
  return { majority: top[0], outliers: Object.keys(received).filter((p) => received[p] !== top[0]).sort(), agreeing: [...top[1]].sort() };
}
