// Test drivers: run a whole DKG / signing session in one process, as the round layer would
// across nodes (every message passes through its plain-data form).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { __TEST, schnorr_FROST, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { dkgFinish, dkgRound2, dkgStart, type DkgRound1Package, type DkgRound2Package, type DkgSession } from '../../src/crypto/dkg.js';
import { membersInOrder } from '../../src/crypto/identifiers.js';
import { aggregateSignatures, signingCommit, signShares, type NonceCommitment, type SigningTarget } from '../../src/crypto/signing.js';
import type { CommitteeMember, EpochKey, KeyShare } from '../../src/crypto/types.js';
import { MetanodeError, type ErrorCode } from '../../src/util/errors.js';

export function committeeOf(n: number, prefix = 'peer'): CommitteeMember[] {
  return membersInOrder(Array.from({ length: n }, (_, i) => `${prefix}-${i}`));
}

export interface DkgRun {
  committee: CommitteeMember[];
  sessions: DkgSession[];
  round1: DkgRound1Package[];
  round2: DkgRound2Package[];
}

export function dkgRound1And2(n: number, t: number, epoch = 1): DkgRun {
  const committee = committeeOf(n);
  const started = committee.map((m) => dkgStart({ self: m.identifier, committee, threshold: t, epoch, network: 'regtest' }));
  const round1 = started.map((s) => s.round1);
  const round2 = started.flatMap((s) => dkgRound2(s.session, round1));
  return { committee, sessions: started.map((s) => s.session), round1, round2 };
}

export function runDkg(n: number, t: number, epoch = 1): { key: EpochKey; keys: EpochKey[]; shares: KeyShare[]; committee: CommitteeMember[] } {
  const run = dkgRound1And2(n, t, epoch);
  const results = run.sessions.map((s) =>
    dkgFinish(
      s,
      run.round1,
      run.round2.filter((p) => p.to === s.self.identifier),
    ),
  );
  return { key: results[0].key, keys: results.map((r) => r.key), shares: results.map((r) => r.share), committee: run.committee };
}

/** Full signing session among `signers` (shares of them); returns signatures per target. */
export function signWith(key: EpochKey, shares: KeyShare[], targets: SigningTarget[]): string[] {
  const commits = shares.map((s) => signingCommit(s, key, targets.length));
  const lists: Record<string, NonceCommitment[]> = {};
  shares.forEach((s, i) => (lists[s.identifier] = commits[i].commitments));
  const sigShares: Record<string, string[]> = {};
  shares.forEach((s, i) => (sigShares[s.identifier] = signShares(s, key, commits[i].nonces, lists, targets)));
  return aggregateSignatures(key, lists, targets, sigShares);
}

/** A wire (uncompressed) point as noble's compressed bytes, by noble's own parser and encoder. */
export function compressedBytes(wire: string): Uint8Array {
  return secp256k1.Point.fromHex(wire).toBytes(true);
}

/** A wire round-1 package in noble's form: compressed commitment points, proof = x(R) || z. */
export function round1ToNoble(p: DkgRound1Package): { identifier: string; commitment: Uint8Array[]; proofOfKnowledge: Uint8Array } {
  return {
    identifier: p.identifier,
    commitment: p.commitment.map(compressedBytes),
    proofOfKnowledge: hexToBytes(p.proofOfKnowledge.slice(2, 66) + p.proofOfKnowledge.slice(130)),
  };
}

export function randomMessage(): string {
  return randomBytes(32).toString('hex');
}

export function assertMetanodeError(fn: () => unknown, code: ErrorCode, culprits?: string[]): MetanodeError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof MetanodeError, `expected MetanodeError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (culprits) assert.deepEqual([...caught.culprits].sort(), [...culprits].sort());
  return caught;
}

/** Pick k distinct random elements. */
export function pick<T>(xs: T[], k: number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, k);
}

/** Deterministic byte source (xorshift-seeded SHA-256 stream) for noble's rng hooks in differential tests. */
export function seededRng(seed: string): (bytes?: number) => Uint8Array {
  let counter = 0;
  return (bytes = 32) => {
    const out = new Uint8Array(bytes);
    for (let o = 0; o < bytes; o += 32) {
      const block = createHash('sha256').update(`${seed}/${counter++}`).digest();
      out.set(block.subarray(0, Math.min(32, bytes - o)), o);
    }
    return out;
  };
}

/** Small deterministic PRNG for choosing test cases (reproducible failures). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** k distinct elements chosen with `rand`, in their original order. */
export function choose<T>(xs: readonly T[], k: number, rand: () => number): T[] {
  const idx = xs.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx
    .slice(0, k)
    .sort((a, b) => a - b)
    .map((i) => xs[i]);
}

/**
 * An epoch key in exactly the DKG's output form, from noble's trusted dealer plus the DKG's
 * empty-root TapTweak (noble's own helpers): a cheap stand-in for runDkg in signing/reshare tests.
 */
export function dealtKey(n: number, t: number, epoch = 1): { key: EpochKey; shares: KeyShare[]; committee: CommitteeMember[] } {
  const committee = committeeOf(n, 'dealt');
  const ids = committee.map((m) => m.identifier);
  const deal = schnorr_FROST.trustedDealer({ min: t, max: n }, ids);
  const root = new Uint8Array(0);
  const pub = __TEST.frostTweakPublic(deal.public, root);
  const key: EpochKey = {
    epoch,
    network: 'regtest',
    outputKey: bytesToHex(pub.commitments[0]).slice(2),
    internalKey: bytesToHex(deal.public.commitments[0]).slice(2),
    threshold: t,
    committee,
    verifyingShares: Object.fromEntries(ids.map((id) => [id, bytesToHex(pub.verifyingShares[id])])),
    commitments: pub.commitments.map((b) => bytesToHex(b)),
  };
  const shares = ids.map((id) => ({ epoch, identifier: id, signingShare: bytesToHex(__TEST.frostTweakSecret(deal.secretShares[id], deal.public, root).signingShare) }));
  return { key, shares, committee };
}
