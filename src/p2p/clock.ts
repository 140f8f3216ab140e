// Clock skew. Each ping carries the sender's wall clock; offset = sender clock - our receive time
// (so it includes one-way latency). The median offset over peers estimates how far *our* clock is
// from the network's: if most peers are ahead of us by 2 s, we are 2 s behind.

export interface SkewStatus {
  ok: boolean;
  /** Our clock minus the network median, ms (negative: we are behind). 0 with no peers. */
  ownOffsetMs: number;
  peers: number;
  maxSkewMs: number;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** peerOffsets: per peer (peer clock - local receive time). */
export function skewStatus(peerOffsets: number[], maxSkewMs: number): SkewStatus {
  const m = median(peerOffsets);
  const ownOffsetMs = peerOffsets.length === 0 ? 0 : -m;
  return { ok: Math.abs(ownOffsetMs) <= maxSkewMs, ownOffsetMs, peers: peerOffsets.length, maxSkewMs };
}

/** A peer's clock relative to the network median, ms (negative: the peer is behind). */
export function peerSkew(peerOffsetMs: number, peerOffsets: number[]): number {
  return peerOffsetMs - median(peerOffsets);
}

/**
 * Whether a peer being `lateByMs` late (its message arrived that long after the deadline by our
 * clock) is explained by its clock lagging the network: a peer whose clock is behind by d ms
 * starts every step d ms late. `toleranceMs` absorbs latency jitter.
 */
export function latenessExplainedBySkew(peerSkewMs: number, lateByMs: number, toleranceMs = 250): boolean {
  if (lateByMs <= 0) return true;
  return -peerSkewMs + toleranceMs >= lateByMs;
}
