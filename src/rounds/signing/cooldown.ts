// Step 7: a node that has signed, or that sees at least t + 1 peers in the signing state, does
// not sign again until the next round epoch (seed 004 "Cooldown state"). Rounds are aligned to
// the round boundary, so "next round epoch" is the next round id.

export interface Cooldown {
  /** No signing in rounds below this id. */
  untilRound: number;
}

export const NO_COOLDOWN: Cooldown = { untilRound: 0 };

export function canSign(cd: Cooldown, roundId: number): boolean {
  return roundId >= cd.untilRound;
}

export function afterSigning(cd: Cooldown, roundId: number): Cooldown {
  return { untilRound: Math.max(cd.untilRound, roundId + 1) };
}

/** True when enough peers are already signing that our joining could only add a second signature. */
export function seesSigningQuorum(signingPeers: string[], threshold: number): boolean {
  return new Set(signingPeers).size >= threshold + 1;
}
