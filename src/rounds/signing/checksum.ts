// Step 5: each member broadcasts a checksum of its threshold set. A differing checksum is never
// blamed by itself (round.ts maybeEndChecksum): only an equivocation behind it names anyone.
import { sha512_256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/** sha512_256 over round id, document hash and the ordered threshold set. */
export function thresholdSetChecksum(roundId: number, docHash: string, thresholdSet: string[]): string {
  return bytesToHex(sha512_256(utf8ToBytes(`metanode/threshold-set/1\n${roundId}\n${docHash}\n${thresholdSet.join('\n')}\n`)));
}
