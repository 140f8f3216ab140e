// One test per DKG failure class: each asserts the error code and exactly who is blamed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dkgFinish, dkgRound2, dkgStart, type DkgRound1Package } from '../../src/crypto/dkg.js';
import { identifierAt } from '../../src/crypto/identifiers.js';
import { assertMetanodeError, committeeOf, dkgRound1And2 } from './helpers.js';

const N = 4;
const T = 3;

function fresh() {
  const committee = committeeOf(N);
  const started = committee.map((m) => dkgStart({ self: m.identifier, committee, threshold: T, epoch: 7, network: 'regtest' }));
  return { committee, sessions: started.map((s) => s.session), round1: started.map((s) => s.round1) };
}

function bumpScalar(hex: string): string {
  return (BigInt('0x' + hex) + 1n).toString(16).padStart(64, '0');
}

describe('DKG blame', () => {
  it('bad proof of knowledge names its sender', () => {
    const { sessions, round1, committee } = fresh();
    const bad = round1.map((p, i) => (i === 2 ? { ...p, proofOfKnowledge: round1[1].proofOfKnowledge } : p));
    const e = assertMetanodeError(() => dkgRound2(sessions[0], bad), 'INVALID_PROOF_OF_KNOWLEDGE', [committee[2].identifier]);
    assert.deepEqual(e.detail?.peerIds, [committee[2].peerId]);
  });

  it('a proof made for another identifier does not transfer (replayed package)', () => {
    const { sessions, round1, committee } = fresh();
    // member 3 copies member 1's commitment and proof under its own identifier
    const bad = round1.map((p, i) => (i === 3 ? { ...round1[1], identifier: p.identifier } : p));
    assertMetanodeError(() => dkgRound2(sessions[0], bad), 'INVALID_PROOF_OF_KNOWLEDGE', [committee[3].identifier]);
  });

  it('a share that does not match its sender\'s commitment names the sender', () => {
    const run = dkgRound1And2(N, T);
    const me = run.committee[0].identifier;
    const cheater = run.committee[2].identifier;
    const mine = run.round2.filter((p) => p.to === me).map((p) => (p.from === cheater ? { ...p, signingShare: bumpScalar(p.signingShare) } : p));
    assertMetanodeError(() => dkgFinish(run.sessions[0], run.round1, mine), 'INVALID_SECRET_SHARE', [cheater]);
  });

  it('two bad shares name both senders', () => {
    const run = dkgRound1And2(N, T);
    const me = run.committee[1].identifier;
    const cheaters = [run.committee[0].identifier, run.committee[3].identifier];
    const mine = run.round2.filter((p) => p.to === me).map((p) => (cheaters.includes(p.from) ? { ...p, signingShare: bumpScalar(p.signingShare) } : p));
    assertMetanodeError(() => dkgFinish(run.sessions[1], run.round1, mine), 'INVALID_SECRET_SHARE', cheaters);
  });

  it('two dealers whose share errors cancel out are both named', () => {
    const run = dkgRound1And2(N, T);
    const me = run.committee[2].identifier;
    const [up, down] = [run.committee[0].identifier, run.committee[3].identifier];
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const shift = (hex: string, d: bigint) => (((BigInt('0x' + hex) + d) % n + n) % n).toString(16).padStart(64, '0');
    const mine = run.round2
      .filter((p) => p.to === me)
      .map((p) => (p.from === up ? { ...p, signingShare: shift(p.signingShare, 5n) } : p.from === down ? { ...p, signingShare: shift(p.signingShare, -5n) } : p));
    assertMetanodeError(() => dkgFinish(run.sessions[2], run.round1, mine), 'INVALID_SECRET_SHARE', [up, down]);
  });

  it('a dealer committing to a longer polynomial (raising the threshold) is named', () => {
    const { sessions, round1, committee } = fresh();
    const raised = dkgStart({ self: committee[1].identifier, committee, threshold: T + 1, epoch: 7, network: 'regtest' }).round1;
    assert.equal(raised.commitment.length, T + 1);
    const bad = round1.map((p, i) => (i === 1 ? raised : p));
    assertMetanodeError(() => dkgRound2(sessions[0], bad), 'INCORRECT_COMMITMENT_LENGTH', [committee[1].identifier]);
  });

  it('a duplicate identifier is named', () => {
    const { sessions, round1, committee } = fresh();
    const second = dkgStart({ self: committee[2].identifier, committee, threshold: T, epoch: 7, network: 'regtest' }).round1;
    assertMetanodeError(() => dkgRound2(sessions[0], [...round1, second]), 'DUPLICATE_IDENTIFIER', [committee[2].identifier]);
    assertMetanodeError(
      () => dkgStart({ self: committee[0].identifier, committee: [...committee, committee[1]], threshold: T, epoch: 7, network: 'regtest' }),
      'DUPLICATE_IDENTIFIER',
      [committee[1].identifier],
    );
  });

  it('a zero identifier is rejected and named', () => {
    const { sessions, round1 } = fresh();
    const zero = '00'.repeat(32);
    const bad: DkgRound1Package[] = [...round1, { ...round1[1], identifier: zero }];
    assertMetanodeError(() => dkgRound2(sessions[0], bad), 'INVALID_IDENTIFIER', [zero]);
    const committee = committeeOf(3);
    assertMetanodeError(
      () => dkgStart({ self: committee[0].identifier, committee: [...committee, { peerId: 'z', identifier: zero }], threshold: 2, epoch: 7, network: 'regtest' }),
      'INVALID_IDENTIFIER',
      [zero],
    );
  });

  it('a package from outside the committee is named', () => {
    const { sessions, round1, committee } = fresh();
    const outsider = { peerId: 'intruder', identifier: identifierAt(50) };
    const foreign = dkgStart({ self: outsider.identifier, committee: [...committee.slice(1), outsider], threshold: T, epoch: 7, network: 'regtest' }).round1;
    assertMetanodeError(() => dkgRound2(sessions[0], [...round1, foreign]), 'UNKNOWN_PARTICIPANT', [outsider.identifier]);
  });

  it('a round-2 share from outside the committee is named', () => {
    const run = dkgRound1And2(N, T);
    const me = run.committee[0].identifier;
    const outsider = identifierAt(50);
    const mine = run.round2.filter((p) => p.to === me);
    assertMetanodeError(
      () => dkgFinish(run.sessions[0], run.round1, [...mine, { from: outsider, to: me, signingShare: mine[0].signingShare }]),
      'UNKNOWN_PARTICIPANT',
      [outsider],
    );
  });

  it('missing round-1 and round-2 packages name the absent members', () => {
    const { sessions, round1, committee } = fresh();
    assertMetanodeError(() => dkgRound2(sessions[0], round1.filter((_, i) => i !== 3)), 'MISSING_PACKAGE', [committee[3].identifier]);
    const run = dkgRound1And2(N, T);
    const me = run.committee[0].identifier;
    const absent = run.committee[2].identifier;
    const mine = run.round2.filter((p) => p.to === me && p.from !== absent);
    assertMetanodeError(() => dkgFinish(run.sessions[0], run.round1, mine), 'MISSING_PACKAGE', [absent]);
  });

  it('an invalid commitment point is named', () => {
    const { sessions, round1, committee } = fresh();
    const bad = round1.map((p, i) => (i === 1 ? { ...p, commitment: [p.commitment[0], '02' + 'ff'.repeat(32), p.commitment[2]] } : p));
    assertMetanodeError(() => dkgRound2(sessions[0], bad), 'INVALID_COMMITMENT', [committee[1].identifier]);
  });

  it('dkgFinish refuses a round-1 list other than the one dkgRound2 validated, in any order accepts the same one', () => {
    const run = dkgRound1And2(N, T);
    const mine = (i: number) => run.round2.filter((p) => p.to === run.sessions[i].self.identifier);
    const other = dkgStart({ self: run.committee[1].identifier, committee: run.committee, threshold: T, epoch: 1, network: 'regtest' }).round1;
    const changed: unknown[] = [
      run.round1.map((p, i) => (i === 1 ? other : p)), // another package for a member
      run.round1.map((p, i) => (i === 2 ? { ...p, proofOfKnowledge: run.round1[3].proofOfKnowledge } : p)),
      run.round1.map((p, i) => (i === 3 ? { ...p, commitment: p.commitment.slice(0, T - 1) } : p)),
      run.round1.map((p, i) => (i === 3 ? { ...p, commitment: [...p.commitment.slice(0, T - 1), p.commitment[0]] } : p)),
      run.round1.slice(1), // one missing
      [...run.round1, run.round1[0]], // one twice
      [run.round1[0], run.round1[0], run.round1[2], run.round1[3]], // one twice in place of another
      run.round1.map((p, i) => (i === 1 || i === 2 ? { ...p, identifier: run.round1[3 - i].identifier } : p)), // two swap identifiers
      run.round1.map((p, i) => (i === 0 ? null : p)),
      'not a list',
    ];
    for (const list of changed)
      assertMetanodeError(() => dkgFinish(run.sessions[0], list as DkgRound1Package[], mine(0)), 'INVALID_INPUT');
    // the session is still usable: the same packages in another order (and as copies) finish it
    const copies = [...run.round1].reverse().map((p) => ({ ...p, commitment: [...p.commitment] }));
    const done = dkgFinish(run.sessions[0], copies, mine(0));
    assert.equal(done.key.outputKey, dkgFinish(run.sessions[1], run.round1, mine(1)).key.outputKey);
  });

  it('dkgFinish compares with the packages as dkgRound2 saw them, not as the caller later changed them', () => {
    const committee = committeeOf(N);
    const started = committee.map((m) => dkgStart({ self: m.identifier, committee, threshold: T, epoch: 1, network: 'regtest' }));
    const round1 = started.map((s) => ({ ...s.round1, commitment: [...s.round1.commitment] }));
    const round2 = started.flatMap((s) => dkgRound2(s.session, round1));
    round1[2].commitment[1] = started[3].round1.commitment[1]; // mutated in place after round 2
    const me = committee[0].identifier;
    assertMetanodeError(() => dkgFinish(started[0].session, round1, round2.filter((p) => p.to === me)), 'INVALID_INPUT');
  });

  it('after a blamed failure the honest run still completes with the same key everywhere', () => {
    const run = dkgRound1And2(N, T);
    const results = run.sessions.map((s) => dkgFinish(s, run.round1, run.round2.filter((p) => p.to === s.self.identifier)));
    for (const r of results) assert.equal(r.key.outputKey, results[0].key.outputKey);
    // a session finishes once
    assertMetanodeError(() => dkgFinish(run.sessions[0], run.round1, run.round2.filter((p) => p.to === run.sessions[0].self.identifier)), 'INVALID_INPUT');
  });
});
