import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { schnorr } from '@noble/curves/secp256k1.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { membersInOrder } from '../../src/crypto/identifiers.js';
import { reshareDeal, reshareReceive, type ReshareDealing, type ReshareSubShare } from '../../src/crypto/reshare.js';
import { depositTweak, outputKeyFor } from '../../src/crypto/taproot.js';
import type { CommitteeMember, EpochKey, KeyShare } from '../../src/crypto/types.js';
import { assertMetanodeError, pick, randomMessage, runDkg, signWith } from './helpers.js';

const Fn = secp256k1.Point.Fn;

function lagrange(xs: bigint[], xi: bigint): bigint {
  let num = 1n;
  let den = 1n;
  for (const x of xs) if (x !== xi) {
    num = Fn.mul(num, x);
    den = Fn.mul(den, Fn.sub(x, xi));
  }
  return Fn.div(num, den);
}

/** Group secret interpolated from shares (test-only: shows which sets are consistent). */
function interpolate(shares: KeyShare[]): bigint {
  const xs = shares.map((s) => BigInt('0x' + s.identifier));
  return shares.reduce((acc, s, i) => Fn.add(acc, Fn.mul(BigInt('0x' + s.signingShare), lagrange(xs, xs[i]))), 0n);
}

function deal(oldKey: EpochKey, oldShares: KeyShare[], dealers: string[], newCommittee: CommitteeMember[], tNew: number, newEpoch: number) {
  const out = oldShares
    .filter((s) => dealers.includes(s.identifier))
    .map((share) => reshareDeal({ share, oldKey, dealers, newCommittee, newThreshold: tNew, newEpoch }));
  return { dealings: out.map((o) => o.dealing), subShares: out.flatMap((o) => o.subShares) };
}

function receive(oldKey: EpochKey, dealers: string[], dealings: ReshareDealing[], subShares: ReshareSubShare[], newCommittee: CommitteeMember[], tNew: number, newEpoch: number, self: string) {
  return reshareReceive({ self, oldKey, dealers, dealings, subShares: subShares.filter((s) => s.to === self), newCommittee, newThreshold: tNew, newEpoch });
}

describe('reshare 5-of-7 -> 4-of-5 (three leave, one joins)', () => {
  const old = runDkg(7, 5, 1);
  const oldKey = old.key;
  const stayers = old.committee.slice(0, 4); // members 4, 5, 6 leave
  // identifiers follow the new committee's order: the stayers keep positions 1-4, the joiner is 5
  const newCommittee = membersInOrder([...stayers.map((m) => m.peerId), 'newcomer']);
  const joiner = newCommittee[4];
  // dealers: any 5 old holders, including two who are leaving
  const dealers = [0, 2, 3, 4, 6].map((i) => old.committee[i].identifier);
  const { dealings, subShares } = deal(oldKey, old.shares, dealers, newCommittee, 4, 2);
  const results = newCommittee.map((m) => receive(oldKey, dealers, dealings, subShares, newCommittee, 4, 2, m.identifier));
  const newKey = results[0].key;
  const newShares = results.map((r) => r.share);

  it('every new member derives the same key record; Q and P are unchanged', () => {
    for (const r of results) assert.deepEqual(r.key, newKey);
    assert.equal(newKey.outputKey, oldKey.outputKey);
    assert.equal(newKey.internalKey, oldKey.internalKey);
    assert.equal(newKey.threshold, 4);
    assert.equal(newKey.epoch, 2);
    assert.deepEqual(Object.keys(newKey.verifyingShares).sort(), newCommittee.map((m) => m.identifier).sort());
    assert.equal(interpolate(newShares.slice(0, 4)), interpolate(old.shares.slice(0, 5)));
  });

  it('any 4 new members sign for the vault and for a deposit tweak', () => {
    for (let rep = 0; rep < 3; rep++) {
      const signers = pick(newShares, 4);
      const tweak = depositTweak(newKey, 'req-' + rep);
      const targets = [{ message: randomMessage() }, { message: randomMessage(), tweak }];
      const sigs = signWith(newKey, signers, targets);
      assert.ok(schnorr.verify(hexToBytes(sigs[0]), hexToBytes(targets[0].message), hexToBytes(oldKey.outputKey)));
      assert.ok(schnorr.verify(hexToBytes(sigs[1]), hexToBytes(targets[1].message), hexToBytes(outputKeyFor(oldKey, tweak))));
    }
  });

  it('3 new members cannot: the threshold really is 4', () => {
    assert.notEqual(interpolate(newShares.slice(0, 3)), interpolate(newShares.slice(0, 4)));
    assertMetanodeError(() => signWith(newKey, newShares.slice(0, 3), [{ message: randomMessage() }]), 'INVALID_COMMITMENT_LIST');
  });

  it('old shares mixed with new ones do not produce a valid signature', () => {
    // two stayers bring their old (epoch 1) share under the same identifier
    const mixed: KeyShare[] = [newShares[0], newShares[1], { ...old.shares[2], epoch: 2 }, { ...old.shares[3], epoch: 2 }];
    assert.equal(mixed[2].identifier, newShares[2].identifier);
    assert.notEqual(interpolate(mixed), interpolate(newShares.slice(0, 4)));
    assertMetanodeError(() => signWith(newKey, mixed, [{ message: randomMessage() }]), 'INVALID_SIGNATURE_SHARE', [mixed[2].identifier, mixed[3].identifier]);
  });

  it('a bad sub-share names its dealer', () => {
    const cheater = dealers[3];
    const me = newCommittee[1].identifier;
    const tampered = subShares.map((s) =>
      s.from === cheater && s.to === me ? { ...s, subShare: (BigInt('0x' + s.subShare) ^ 1n).toString(16).padStart(64, '0') } : s,
    );
    const e = assertMetanodeError(() => receive(oldKey, dealers, dealings, tampered, newCommittee, 4, 2, me), 'INVALID_SECRET_SHARE', [cheater]);
    assert.deepEqual(e.detail?.peerIds, [old.committee[4].peerId]);
  });

  it('a dealer that deals something other than its weighted share is named', () => {
    // the dealer pretends the dealer set is different, so its lambda (and constant term) is wrong
    const cheater = old.shares.find((s) => s.identifier === dealers[1])!;
    const wrongSet = [dealers[1], ...old.committee.filter((m) => !dealers.includes(m.identifier)).map((m) => m.identifier), dealers[0], dealers[2]];
    const rogue = reshareDeal({ share: cheater, oldKey, dealers: wrongSet, newCommittee, newThreshold: 4, newEpoch: 2 });
    const ds = dealings.map((d) => (d.from === cheater.identifier ? rogue.dealing : d));
    const ss = subShares.map((s) => (s.from === cheater.identifier ? rogue.subShares.find((r) => r.to === s.to)! : s));
    assertMetanodeError(() => receive(oldKey, dealers, ds, ss, newCommittee, 4, 2, joiner.identifier), 'INVALID_COMMITMENT', [cheater.identifier]);
  });

  it('a dealer raising the new threshold, a missing dealing and too few dealers are refused', () => {
    const cheater = old.shares.find((s) => s.identifier === dealers[2])!;
    const raised = reshareDeal({ share: cheater, oldKey, dealers, newCommittee, newThreshold: 5, newEpoch: 2 });
    const ds = dealings.map((d) => (d.from === cheater.identifier ? raised.dealing : d));
    assertMetanodeError(() => receive(oldKey, dealers, ds, subShares, newCommittee, 4, 2, joiner.identifier), 'INCORRECT_COMMITMENT_LENGTH', [cheater.identifier]);
    assertMetanodeError(
      () => receive(oldKey, dealers, dealings.filter((d) => d.from !== dealers[4]), subShares, newCommittee, 4, 2, joiner.identifier),
      'MISSING_PACKAGE',
      [dealers[4]],
    );
    assertMetanodeError(() => reshareDeal({ share: old.shares[0], oldKey, dealers: dealers.slice(0, 4), newCommittee, newThreshold: 4, newEpoch: 2 }), 'INVALID_INPUT');
  });
});
