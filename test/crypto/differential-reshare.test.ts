// Differential tests: reshareReceive (batched checks, Horner / forward-difference evaluation)
// against the plain per-dealer Feldman math written out here with noble's Point and mulAddUnsafe
// (what the reshare did before): byte-identical new keys and shares, and for bad dealings or
// sub-shares the same culprits as checking each dealer on its own.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mulAddUnsafe } from '@noble/curves/abstract/curve.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { membersInOrder } from '../../src/crypto/identifiers.js';
import { powersOf } from '../../src/crypto/poly.js';
import { reshareDeal, reshareReceive, type ReshareDealing, type ReshareSubShare } from '../../src/crypto/reshare.js';
import type { CommitteeMember, EpochKey, KeyShare } from '../../src/crypto/types.js';
import { assertMetanodeError, choose, dealtKey, prng } from './helpers.js';

const Point = secp256k1.Point;
const Fn = Point.Fn;
const big = (hex: string) => BigInt('0x' + hex);

function lagrange(xs: bigint[], xi: bigint): bigint {
  let num = Fn.ONE;
  let den = Fn.ONE;
  for (const x of xs) if (x !== xi) {
    num = Fn.mul(num, x);
    den = Fn.mul(den, Fn.sub(x, xi));
  }
  return Fn.div(num, den);
}

/** The plain reference: every dealer checked on its own, every verifying share one MSM. */
function plainReceive(oldKey: EpochKey, dealers: string[], dealings: ReshareDealing[], subShares: ReshareSubShare[], newCommittee: CommitteeMember[], tNew: number, self: string) {
  const xs = dealers.map(big);
  const x = big(self);
  const badConst: string[] = [];
  const badShare: string[] = [];
  let s = 0n;
  const summed: InstanceType<typeof Point>[] = Array.from({ length: tNew }, () => Point.ZERO);
  dealers.forEach((id, i) => {
    const C = dealings.find((d) => d.from === id)!.commitment.map((c) => Point.fromHex(c));
    if (!C[0].equals(Point.fromHex(oldKey.verifyingShares[id]).multiply(lagrange(xs, xs[i])))) badConst.push(id);
    const v = big(subShares.find((q) => q.from === id && q.to === self)!.subShare);
    if (!(v === 0n ? Point.ZERO : Point.BASE.multiply(v)).equals(mulAddUnsafe(Point, C, powersOf(x, tNew)))) badShare.push(id);
    s = Fn.add(s, v);
    C.forEach((c, k) => (summed[k] = summed[k].add(c)));
  });
  const verifyingShares = Object.fromEntries(newCommittee.map((m) => [m.identifier, bytesToHex(mulAddUnsafe(Point, summed, powersOf(big(m.identifier), tNew)).toBytes(true))]));
  return { badConst, badShare, share: bytesToHex(Fn.toBytes(s)), commitments: summed.map((c) => bytesToHex(c.toBytes(true))), verifyingShares };
}

function dealAll(oldKey: EpochKey, oldShares: KeyShare[], dealers: string[], newCommittee: CommitteeMember[], tNew: number) {
  const out = dealers.map((d) => reshareDeal({ share: oldShares.find((s) => s.identifier === d)!, oldKey, dealers, newCommittee, newThreshold: tNew, newEpoch: oldKey.epoch + 1 }));
  return { dealings: out.map((o) => o.dealing), subShares: out.flatMap((o) => o.subShares) };
}

for (const [n, t, nNew, tNew] of [
  [5, 3, 6, 4],
  [10, 7, 12, 8],
  [30, 20, 30, 20],
] as const) {
  describe(`reshare fast path vs plain Feldman math (${t}-of-${n} -> ${tNew}-of-${nNew})`, () => {
    const old = dealtKey(n, t);
    const rand = prng(n * 7 + nNew);
    const dealers = choose(old.committee, t, rand).map((m) => m.identifier);
    // stayers first (the most senior old members), then newcomers: identifiers are positions 1..nNew
    const newCommittee = membersInOrder([...old.committee.slice(0, Math.min(n, nNew) - 2).map((m) => m.peerId), ...Array.from({ length: nNew - Math.min(n, nNew) + 2 }, (_, i) => `new-${i}`)]);
    const { dealings, subShares } = dealAll(old.key, old.shares, dealers, newCommittee, tNew);
    const receivers = n === 30 ? [newCommittee[nNew - 1]] : [newCommittee[0], newCommittee[nNew - 1], ...choose(newCommittee.slice(1, -1), 1, rand)];

    it('byte-identical key record and share for receivers at every position', () => {
      for (const m of receivers) {
        const mine = subShares.filter((q) => q.to === m.identifier);
        const { key, share } = reshareReceive({ self: m.identifier, oldKey: old.key, dealers, dealings, subShares: mine, newCommittee, newThreshold: tNew, newEpoch: old.key.epoch + 1 });
        const ref = plainReceive(old.key, dealers, dealings, mine, newCommittee, tNew, m.identifier);
        assert.deepEqual([ref.badConst, ref.badShare], [[], []]);
        assert.equal(share.signingShare, ref.share);
        assert.deepEqual(key.commitments, ref.commitments);
        assert.deepEqual(key.verifyingShares, ref.verifyingShares);
        assert.equal(key.outputKey, old.key.outputKey);
      }
    });

    it('bad sub-shares (including pairs that cancel) and bad constant terms: same culprits as per dealer', () => {
      const me = receivers[receivers.length - 1].identifier;
      for (let trial = 0; trial < (n === 30 ? 1 : 3); trial++) {
        const cheaters = choose(dealers, trial === 1 ? 2 : 1 + Math.floor(rand() * 2), rand);
        const deltas = new Map(cheaters.map((id, j) => [id, trial === 1 ? (j === 0 ? 11n : -11n) : BigInt(j + 1)]));
        const tampered = subShares.map((q) => (q.to === me && deltas.has(q.from) ? { ...q, subShare: bytesToHex(Fn.toBytes(Fn.create(big(q.subShare) + deltas.get(q.from)!))) } : q));
        const mine = tampered.filter((q) => q.to === me);
        const ref = plainReceive(old.key, dealers, dealings, mine, newCommittee, tNew, me);
        assert.deepEqual(ref.badShare, cheaters);
        assertMetanodeError(
          () => reshareReceive({ self: me, oldKey: old.key, dealers, dealings, subShares: mine, newCommittee, newThreshold: tNew, newEpoch: old.key.epoch + 1 }),
          'INVALID_SECRET_SHARE',
          ref.badShare,
        );
      }
      // a dealer whose constant term is not its weighted old share: deal with a wrong dealer set
      const rogue = dealers[Math.floor(rand() * dealers.length)];
      const others = old.committee.map((m) => m.identifier).filter((id) => !dealers.includes(id));
      const wrongSet = [rogue, ...others, ...dealers.filter((d) => d !== rogue)].slice(0, Math.max(t, others.length + 1));
      const r = reshareDeal({ share: old.shares.find((s) => s.identifier === rogue)!, oldKey: old.key, dealers: wrongSet, newCommittee, newThreshold: tNew, newEpoch: old.key.epoch + 1 });
      const ds = dealings.map((d) => (d.from === rogue ? r.dealing : d));
      const ss = subShares.map((q) => (q.from === rogue ? r.subShares.find((x) => x.to === q.to)! : q)).filter((q) => q.to === me);
      const ref = plainReceive(old.key, dealers, ds, ss, newCommittee, tNew, me);
      assert.deepEqual(ref.badConst, [rogue]);
      assertMetanodeError(
        () => reshareReceive({ self: me, oldKey: old.key, dealers, dealings: ds, subShares: ss, newCommittee, newThreshold: tNew, newEpoch: old.key.epoch + 1 }),
        'INVALID_COMMITMENT',
        [rogue],
      );
    });
  });
}
