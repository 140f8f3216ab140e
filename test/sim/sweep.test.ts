// A short sweep of the deterministic simulator (src/sim/) at n = 7 (t = 5, f = 2): an honest
// federation through keygen, a custody round and a regroup; pairs of Byzantine strategies the
// protocol must refuse while still signing; equivocating signing sets (safety holds, the
// liveness gap is in the note); and the determinism check. Each run is seconds of real crypto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_OPTIONS, runSim, type SimOptions, type SimReport } from '../../src/sim/run.js';
import type { Strategy } from '../../src/sim/byzantine.js';

const base: SimOptions = { ...DEFAULT_OPTIONS, nodes: 7, seed: 'sweep-1', rounds: 1 };

function attack(seed: string, strategies: Strategy[]): SimOptions {
  return { ...base, seed, byzantine: strategies.length, strategies, regroup: false };
}

function held(r: SimReport): void {
  assert.deepEqual(r.violations, [], `replay: ${r.replay}`);
  assert.ok(r.ok);
  assert.ok(r.checks > 0);
}

/** Members named by honest members in the custody round, by strategy. */
function namedByStrategy(r: SimReport): Record<string, string[]> {
  const custody = r.scenarios.find((s) => s.name === 'custody-1')!;
  const out: Record<string, string[]> = {};
  for (const b of r.byzantine) out[b.strategy] = custody.culprits.filter((c) => c.peer === b.peer).map((c) => c.code);
  return out;
}

function custodySigned(r: SimReport): void {
  const custody = r.scenarios.find((s) => s.name === 'custody-1')!;
  assert.equal(custody.completed, true, `replay: ${r.replay}`);
  assert.match(custody.txid ?? '', /^[0-9a-f]{64}$/);
  assert.ok(custody.virtualMs !== null && custody.virtualMs <= custody.boundMs);
  assert.ok(custody.culprits.every((c) => c.byzantine), 'nobody honest named');
  assert.ok((custody.setAside ?? []).every((c) => c.byzantine), 'nobody honest set aside');
}

let honestHash = '';

test('an honest federation of 7 completes keygen, a custody round and a regroup (one leaves, one joins) with every invariant held', async () => {
  const r = await runSim(base);
  held(r);
  assert.deepEqual(r.scenarios.map((s) => [s.name, s.completed]), [['keygen', true], ['custody-1', true], ['regroup', true]]);
  for (const s of r.scenarios) assert.ok(s.virtualMs !== null && s.virtualMs > 0 && s.virtualMs <= s.boundMs, `${s.name}: ${s.virtualMs} ms`);
  assert.equal(r.threshold, 5);
  assert.equal(r.scenarios[1]!.attempts, 1);
  assert.deepEqual(r.scenarios.flatMap((s) => s.culprits), []);
  assert.match(r.scenarios[2]!.detail ?? '', /committee 7, t 5; record [0-9a-f]{64}/);
  honestHash = r.traceHash;
});

test('invalid signature shares and a copied tss_proof are refused: both members named, the round signs without them', async () => {
  const r = await runSim(attack('sweep-2', ['bad-share', 'copied-proof']));
  held(r);
  custodySigned(r);
  const named = namedByStrategy(r);
  assert.deepEqual(named['copied-proof'], ['INVALID_TSS_PROOF']);
  assert.deepEqual(named['bad-share'], ['INVALID_SIGNATURE_SHARE']);
  assert.equal(r.scenarios[1]!.attempts, 2, 'the first attempt had the bad share; the second signed');
});

test('a silent member and a wrong threshold-set checksum are refused: the round signs without them and nobody honest is named', async () => {
  const r = await runSim(attack('sweep-3', ['silent', 'bad-checksum']));
  held(r);
  custodySigned(r);
  const custody = r.scenarios[1]!;
  const who = (s: Strategy) => r.byzantine.find((b) => b.strategy === s)!.peer;
  // The wrong checksum is no evidence (an honest member shown another set would send one too): set aside, not named.
  assert.deepEqual(custody.setAside, [{ peer: who('bad-checksum'), code: 'CHECKSUM_MISMATCH', byzantine: true }]);
  assert.ok(!custody.culprits.some((c) => c.peer === who('bad-checksum')));
});

test('withheld messages and a proposal for another document are refused: the round signs and nobody honest is named', async () => {
  const r = await runSim(attack('sweep-4', ['withhold', 'other-document']));
  held(r);
  custodySigned(r);
});

test('equivocating signing sets are refused: the equivocator is named EQUIVOCATION and nothing is signed twice', async () => {
  // Safety only: an equivocated signing set can still make an honest junior member leave the
  // round and be named for silence (see the note: a liveness gap this simulator found).
  const r = await runSim(attack('3', ['equivocate']));
  const safety = ['one-signature-per-round', 'chain', 'one-record-per-epoch', 'record-attested', 'signature-verifies', 'key-kept'];
  assert.deepEqual(r.violations.filter((v) => safety.includes(v.invariant)), []);
  assert.ok(r.violations.every((v) => v.invariant !== 'no-honest-culprit' || / TIMEOUT /.test(v.detail)), 'honest members are only ever named for silence');
  assert.deepEqual(namedByStrategy(r).equivocate, ['EQUIVOCATION']);
});

test('the same seed replays the same run: identical trace hash and report; another seed gives another trace', async () => {
  const a = await runSim(attack('sweep-2', ['bad-share', 'copied-proof']));
  const b = await runSim(attack('sweep-2', ['bad-share', 'copied-proof']));
  assert.match(a.traceHash, /^[0-9a-f]{64}$/);
  assert.equal(a.traceHash, b.traceHash);
  const strip = (r: SimReport) => JSON.stringify({ ...r, wallMs: 0, scenarios: r.scenarios.map((s) => ({ ...s, wallMs: 0, cpuMsPerNode: 0, estimatedWithCpuMs: 0 })) });
  assert.equal(strip(a), strip(b));
  assert.equal(a.replay, 'npm run sim -- --nodes 7 --seed sweep-2 --byzantine 2 --rounds 1 --strategies bad-share,copied-proof --no-regroup');
  if (honestHash) assert.notEqual(a.traceHash, honestHash);
});
