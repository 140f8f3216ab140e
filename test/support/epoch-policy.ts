// Adoption policies for tests: the node's configuration and stake view as the trust rules
// (src/epochs/adoption.ts) read them, built from a plain list.
import type { AdoptionPolicy } from '../../src/epochs/manager.js';
import type { AdoptionRules } from '../../src/epochs/adoption.js';
import type { VerifyFn } from '../../src/epochs/attest.js';
import type { StakedPeer } from '../../src/rounds/committee.js';
import type { Attempt } from '../../src/epochs/attempt.js';

/** Peer i staked at height 100 + i: the list order is seniority order. */
export function stakedInOrder(peerIds: readonly string[]): StakedPeer[] {
  return peerIds.map((peerId, i) => ({ peerId, stakeHeight: 100 + i, stakeTxid: (i + 1).toString(16).padStart(64, '0') }));
}

export function testPolicy(staked: () => readonly StakedPeer[], rules: Partial<AdoptionRules> | (() => Partial<AdoptionRules>) = {}, verify?: VerifyFn): AdoptionPolicy {
  const over = typeof rules === 'function' ? rules : () => rules;
  return { rules: () => ({ network: 'regtest', committeeMax: 15, keygenUntil: null, ...over() }), staked, ...(verify ? { verify } : {}) };
}

/** For storage tests whose records carry placeholder signatures: every signature "verifies". */
export const placeholderVerify: VerifyFn = async () => true;

export const TEST_ATTEMPT: Attempt = { startedAt: 0, id: '0a'.repeat(32) };
