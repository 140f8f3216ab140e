// Deposits to a request that has expired ("late" deposits, refunded by a round) are looked for on
// a slower cadence than deposits to open requests: the deposit address of an expired request is
// read at one block height in every `everyBlocks` (its slot), not at every block. A node keeps
// such an address watched for `requests.retainHours` after expiry, so reading each one at every
// block would make the chain reads per block grow with the last day's requests, not the open ones.
//
// Every node must agree on which deposits a round spends. A node's scanned tip T means: every
// address it calls open was read at T, and every expired request's address was read at a tip at
// or above the last height <= T of its slot. So a deposit to a request expired at the round start
// counts in a candidate only once the anchor has reached the deposit's height's next slot height
// (lateDepositVisible): every node that pinged a tip >= the anchor has read it by then, whatever
// it classified the address as, and nodes with the same view build the same candidate.
//
// The slot is a function of the request id only (FNV-1a, 32 bits), the same on every node.

/** The slot (0 .. everyBlocks-1) of a request's deposit address. */
export function lateDepositSlot(requestId: string, everyBlocks: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < requestId.length; i++) {
    h ^= requestId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % everyBlocks;
}

/** The first height >= `height` at which the address of `requestId` is read (its slot height). */
export function lateDepositReadHeight(height: number, requestId: string, everyBlocks: number): number {
  const slot = lateDepositSlot(requestId, everyBlocks);
  return height + ((slot - (height % everyBlocks) + everyBlocks) % everyBlocks);
}

/**
 * Whether a deposit confirmed at `height` to an expired request is known to every node whose
 * scanned tip is at least `anchor` (see above). Always true with everyBlocks = 1.
 */
export function lateDepositVisible(height: number, requestId: string, anchor: number, everyBlocks: number): boolean {
  return lateDepositReadHeight(height, requestId, everyBlocks) <= anchor;
}

/** Slots due when the scanned tip moves from `from` (exclusive) to `to` (inclusive); null = every slot. */
export function slotsBetween(from: number, to: number, everyBlocks: number): Set<number> | null {
  if (to - from >= everyBlocks) return null;
  const s = new Set<number>();
  for (let h = from + 1; h <= to; h++) s.add(h % everyBlocks);
  return s;
}
