// Regroup: hand the same group key to a new committee (new threshold allowed) without ever
// assembling it. Built on noble's Point/Fn; noble has no resharing.
//
// Dealers D (>= old threshold t of the old holders) each take w_i = lambda_i(D) * s_i, where s_i is
// their (vault-tweaked) signing share, and deal it with a fresh Feldman-committed polynomial f_i
// of degree t'-1: commitment C_i = [f_i coefficients]*G, sub-share f_i(x_j) to new member j.
// Since sum_i w_i = group secret, the new shares s'_j = sum_i f_i(x_j) are a t'-of-n' sharing of
// the same secret; the group key Q (and the internal key P) stay as they were.
//
// A receiver checks each dealing: length t', valid points, C_i[0] == lambda_i * Y_i (so a dealer
// cannot deal anything but its own weighted share), every sub-share against its dealer's
// commitment (culprit = that dealer), and finally that the new verifying shares interpolate to Q.
//
// A receiver parses t*t' commitment points, so dealings carry them uncompressed (no square root
// per point; internal.ts tryWirePoint). The checks are batched with
// random weights (per-dealer checks run only to name culprits), commitments are evaluated at the
// small integer identifiers by Horner / forward differences (poly.ts), and the results are
// compared with the plain per-dealer math in test/crypto/differential-reshare.test.ts.
//
// Deviation from notes/crypto-api.md: newCommittee may be given as CommitteeMember[] or strings
// (normalizeCommittee) in both functions; dealers/self may be identifiers or peer ids.
import { MetanodeError } from '../util/errors.js';
import { feldmanCulprits } from './dkg.js';
import { findMember, normalizeCommittee, peerIdsOf } from './identifiers.js';
import { batchWeight, bytesToHex, fail, Fn, lagrangeAtZero, Point, pointHex, pointsHex, type PointT, tryIdentifier, tryPoint, tryScalar, tryWirePoint, wireHexes } from './internal.js';
import { evalCommitmentMany, msm, sumPoints } from './poly.js';
import type { CommitteeMember, EpochKey, KeyShare } from './types.js';

export interface ReshareDealing {
  from: string;
  /** Feldman commitment, newThreshold uncompressed points (65-byte hex: every receiver parses t*t' of them). */
  commitment: string[];
}

export interface ReshareSubShare {
  from: string;
  to: string;
  subShare: string;
}

export interface ReshareDealParams {
  share: KeyShare;
  oldKey: EpochKey;
  /** The old holders taking part (at least oldKey.threshold), identifiers or peer ids. */
  dealers: string[];
  newCommittee: ReadonlyArray<string | CommitteeMember>;
  newThreshold: number;
  newEpoch: number;
}

export interface ReshareReceiveParams {
  self: string;
  oldKey: EpochKey;
  dealers: string[];
  dealings: ReshareDealing[];
  /** Sub-shares addressed to self (others are rejected). */
  subShares: ReshareSubShare[];
  newCommittee: ReadonlyArray<string | CommitteeMember>;
  newThreshold: number;
  newEpoch: number;
}

function culprits(code: ConstructorParameters<typeof MetanodeError>[0], what: string, who: string[], committee: CommitteeMember[]): void {
  if (who.length) fail(code, what, who, { peerIds: peerIdsOf(committee, who) });
}

function resolveDealers(oldKey: EpochKey, dealers: string[]): { ids: string[]; xs: bigint[] } {
  if (!Array.isArray(dealers)) fail('INVALID_INPUT', 'dealers must be an array');
  const ids: string[] = [];
  for (const d of dealers) {
    const m = findMember(oldKey.committee, d);
    if (!m) fail('UNKNOWN_PARTICIPANT', `dealer ${d} is not in the old committee`, [String(d)]);
    if (ids.includes(m.identifier)) fail('DUPLICATE_IDENTIFIER', `dealer ${d} listed twice`, [m.identifier]);
    ids.push(m.identifier);
  }
  if (ids.length < oldKey.threshold) fail('INVALID_INPUT', `need at least ${oldKey.threshold} dealers, got ${ids.length}`);
  return { ids, xs: ids.map((id) => tryIdentifier(id)!) };
}

function resolveNew(newCommittee: ReadonlyArray<string | CommitteeMember>, newThreshold: number, newEpoch: number, oldKey: EpochKey): CommitteeMember[] {
  const committee = normalizeCommittee(newCommittee);
  if (committee.length < 2) fail('INVALID_INPUT', 'new committee needs at least 2 members');
  if (!Number.isSafeInteger(newThreshold) || newThreshold < 2 || newThreshold > committee.length)
    fail('INVALID_INPUT', `new threshold must be in [2, ${committee.length}], got ${newThreshold}`);
  if (!Number.isSafeInteger(newEpoch) || newEpoch <= oldKey.epoch) fail('INVALID_INPUT', `new epoch must be greater than ${oldKey.epoch}`);
  return committee;
}

function randomScalar(): bigint {
  for (;;) {
    const b = crypto.getRandomValues(new Uint8Array(48)); // 384 bits reduced mod n: negligible bias
    const n = Fn.create(BigInt('0x' + bytesToHex(b)));
    if (n !== 0n) return n;
  }
}

/** An old holder's dealing (broadcast) and its sub-shares (one per new member, point-to-point). */
export function reshareDeal(p: ReshareDealParams): { dealing: ReshareDealing; subShares: ReshareSubShare[] } {
  const { share, oldKey } = p;
  const newCommittee = resolveNew(p.newCommittee, p.newThreshold, p.newEpoch, oldKey);
  const { ids, xs } = resolveDealers(oldKey, p.dealers);
  const me = share.identifier;
  const idx = ids.indexOf(me);
  if (idx < 0) fail('INVALID_INPUT', 'this holder is not among the dealers');
  if (share.epoch !== oldKey.epoch) fail('INVALID_INPUT', `share is for epoch ${share.epoch}, old key for ${oldKey.epoch}`);
  const s = tryScalar(share.signingShare);
  if (s === null) fail('KEYSTORE', 'signing share is not a valid scalar');
  if (pointHex(Point.BASE.multiply(s)) !== oldKey.verifyingShares[me]) fail('SHARE_INCONSISTENCY', 'own signing share does not match the old verifying share');
  const w = Fn.mul(lagrangeAtZero(xs, xs[idx]), s);
  const coeffs = [w];
  for (let k = 1; k < p.newThreshold; k++) coeffs.push(randomScalar());
  const commitment = wireHexes(coeffs.map((c) => Point.BASE.multiply(c)));
  const subShares = newCommittee.map((m) => {
    const x = tryIdentifier(m.identifier)!;
    // Horner: f(x) = c0 + x(c1 + x(c2 + ...))
    let acc = Fn.ZERO;
    for (let k = coeffs.length - 1; k >= 0; k--) acc = Fn.add(Fn.mul(acc, x), coeffs[k]);
    return { from: me, to: m.identifier, subShare: bytesToHex(Fn.toBytes(acc)) };
  });
  for (let k = 0; k < coeffs.length; k++) coeffs[k] = 0n;
  return { dealing: { from: me, commitment }, subShares };
}

/** A new holder's side: verify every dealing and sub-share (blaming dealers), sum, check the key. */
export function reshareReceive(p: ReshareReceiveParams): { key: EpochKey; share: KeyShare } {
  const { oldKey } = p;
  const newCommittee = resolveNew(p.newCommittee, p.newThreshold, p.newEpoch, oldKey);
  const selfMember = findMember(newCommittee, p.self);
  if (!selfMember) fail('INVALID_INPUT', `self ${p.self} is not in the new committee`);
  const me = selfMember.identifier;
  const { ids, xs } = resolveDealers(oldKey, p.dealers);
  const oldCommittee = oldKey.committee;
  const tNew = p.newThreshold;

  // dealings: membership, duplicates, completeness, shape, points, and the pinned constant term
  if (!Array.isArray(p.dealings)) fail('INVALID_INPUT', 'dealings must be an array');
  const unknown: string[] = [];
  const dup: string[] = [];
  const byDealer = new Map<string, ReshareDealing>();
  for (const d of p.dealings) {
    const from = d && typeof d.from === 'string' ? d.from : '?';
    if (!ids.includes(from)) unknown.push(from);
    else if (byDealer.has(from)) dup.push(from);
    else byDealer.set(from, d);
  }
  culprits('UNKNOWN_PARTICIPANT', 'dealing from someone who is not a dealer', unknown, oldCommittee);
  culprits('DUPLICATE_IDENTIFIER', 'more than one dealing from a dealer', [...new Set(dup)], oldCommittee);
  culprits('MISSING_PACKAGE', 'dealing missing', ids.filter((id) => !byDealer.has(id)), oldCommittee);
  culprits('INCORRECT_COMMITMENT_LENGTH', `dealing commitment must have exactly ${tNew} points`,
    ids.filter((id) => !Array.isArray(byDealer.get(id)!.commitment) || byDealer.get(id)!.commitment.length !== tNew), oldCommittee);
  const commits = new Map<string, PointT[]>();
  const badPoints: string[] = [];
  for (const id of ids) {
    const pts = byDealer.get(id)!.commitment.map((c) => tryWirePoint(c));
    if (pts.some((x) => x === null)) badPoints.push(id);
    else commits.set(id, pts as PointT[]);
  }
  culprits('INVALID_COMMITMENT', 'dealing commitment contains a point that is not a valid uncompressed (65-byte 04||x||y) curve point, or the identity', badPoints, oldCommittee);
  // Constant terms: C_i[0] == lambda_i Y_i for every dealer, checked together as
  // sum_i a_i C_i[0] == sum_i (a_i lambda_i) Y_i with random 128-bit a_i, one by one only on failure.
  const oldY = ids.map((id) => {
    const Y = tryPoint(oldKey.verifyingShares[id]);
    if (!Y) fail('INVALID_INPUT', `old key has no valid verifying share for dealer ${id}`);
    return Y;
  });
  const lambdas = ids.map((_, i) => lagrangeAtZero(xs, xs[i]));
  const weights = ids.map(() => batchWeight());
  const lhs = msm(ids.map((id) => commits.get(id)![0]), weights);
  const rhs = msm(oldY, weights.map((a, i) => Fn.mul(a, lambdas[i])));
  const wrongConst = lhs.equals(rhs) ? [] : ids.filter((id, i) => !commits.get(id)![0].equals(oldY[i].multiplyUnsafe(lambdas[i])));
  culprits('INVALID_COMMITMENT', 'dealing does not commit to lambda_i times the dealer\'s old verifying share', wrongConst, oldCommittee);

  // sub-shares addressed to self
  if (!Array.isArray(p.subShares)) fail('INVALID_INPUT', 'subShares must be an array');
  const subUnknown: string[] = [];
  const misaddressed: string[] = [];
  const subDup: string[] = [];
  const badScalar: string[] = [];
  const values = new Map<string, bigint>();
  for (const s of p.subShares) {
    const from = s && typeof s.from === 'string' ? s.from : '?';
    if (!ids.includes(from)) subUnknown.push(from);
    else if (s.to !== me) misaddressed.push(from);
    else if (values.has(from) || badScalar.includes(from)) subDup.push(from);
    else {
      const v = tryScalar(s.subShare, true);
      if (v === null) badScalar.push(from);
      else values.set(from, v);
    }
  }
  culprits('UNKNOWN_PARTICIPANT', 'sub-share from someone who is not a dealer', subUnknown, oldCommittee);
  culprits('INVALID_MESSAGE', 'sub-share addressed to another member', misaddressed, oldCommittee);
  culprits('DUPLICATE_IDENTIFIER', 'more than one sub-share from a dealer', [...new Set(subDup)], oldCommittee);
  culprits('INVALID_SECRET_SHARE', 'sub-share is not a canonical scalar', badScalar, oldCommittee);
  culprits('MISSING_PACKAGE', 'sub-share missing', ids.filter((id) => !values.has(id)), oldCommittee);
  const x = tryIdentifier(me)!;
  // Every sub-share against its own dealing (batched with random weights; see feldmanCulprits).
  const bad = feldmanCulprits(x, ids.map((id) => ({ dealer: id, share: values.get(id)!, commitment: commits.get(id)! })));
  culprits('INVALID_SECRET_SHARE', 'sub-share does not match its dealer\'s commitment', bad, oldCommittee);

  // sum and check the key is unchanged
  let s = Fn.ZERO;
  for (const id of ids) s = Fn.add(s, values.get(id)!);
  const summed: PointT[] = [];
  for (let k = 0; k < tNew; k++) summed.push(sumPoints(ids.map((id) => commits.get(id)![k])));
  const Q = tryPoint(oldKey.commitments[0]);
  if (!Q) fail('INVALID_INPUT', 'old key commitments[0] is not a valid point');
  if (summed[0].is0() || !summed[0].equals(Q)) fail('GROUP_KEY_MISMATCH', 'summed dealings do not commit to the group key', [...ids]);
  if (summed.some((c) => c.is0())) fail('GROUP_KEY_MISMATCH', 'summed dealings contain an identity commitment', [...ids]);
  const points = evalCommitmentMany(summed, newCommittee.map((m) => tryIdentifier(m.identifier)!));
  const zero = newCommittee.find((_, i) => points[i].is0());
  if (zero) fail('GROUP_KEY_MISMATCH', `new verifying share of ${zero.identifier} is the identity`, [...ids]);
  const hexes = pointsHex(points);
  const verifyingShares: Record<string, string> = {};
  newCommittee.forEach((m, i) => (verifyingShares[m.identifier] = hexes[i]));
  // Independent check: a threshold subset of the new verifying shares interpolates to Q.
  const subsetX = newCommittee.slice(0, tNew).map((m) => tryIdentifier(m.identifier)!);
  const interp = msm(points.slice(0, tNew), subsetX.map((xi) => lagrangeAtZero(subsetX, xi)));
  if (!interp.equals(Q)) fail('GROUP_KEY_MISMATCH', 'new verifying shares do not interpolate to the group key', [...ids]);
  if (pointHex(Point.BASE.multiply(s === 0n ? 1n : s)) !== verifyingShares[me] || s === 0n)
    fail('SHARE_INCONSISTENCY', 'summed share does not match own new verifying share');
  const key: EpochKey = {
    epoch: p.newEpoch,
    network: oldKey.network,
    outputKey: oldKey.outputKey,
    internalKey: oldKey.internalKey,
    threshold: tNew,
    committee: newCommittee.map((m) => ({ ...m })),
    verifyingShares,
    commitments: pointsHex(summed),
  };
  return { key, share: { epoch: p.newEpoch, identifier: me, signingShare: bytesToHex(Fn.toBytes(s)) } };
}
