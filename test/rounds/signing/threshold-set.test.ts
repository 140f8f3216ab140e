import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectThresholdSet } from '../../../src/rounds/signing/threshold-set.js';

const seniority = ['A', 'B', 'C', 'D', 'E'];
const all = { A: seniority, B: seniority, C: seniority, D: seniority, E: seniority };
const proofs = { A: 'pa', B: 'pb', C: 'pc', D: 'pd', E: 'pe' };

test('everyone sees everyone: the t most senior form the threshold set', () => {
  const r = selectThresholdSet({ signingSets: all, threshold: 3, seniority, proofs })!;
  assert.deepEqual(r.thresholdSet, ['A', 'B', 'C']);
  assert.deepEqual(r.ordered, ['A', 'B', 'C', 'D', 'E']);
  assert.deepEqual(r.pruned, []);
});

test('sets smaller than t, or not containing their sender, are ignored', () => {
  const r = selectThresholdSet({
    signingSets: { A: ['A', 'B', 'C', 'D'], B: ['A', 'B', 'C', 'D'], C: ['A', 'B', 'C', 'D'], D: ['D', 'A'], E: ['A', 'B', 'C'] },
    threshold: 3, seniority, proofs,
  })!;
  assert.deepEqual(r.group, ['A', 'B', 'C']);
});

test('two nodes broadcast different t-size lists: every node converges on the same mutually visible set', () => {
  // t = 3. D saw {A, B, D}, E saw {A, C, E}; A, B, C see everyone.
  const signingSets = {
    A: seniority, B: seniority, C: seniority,
    D: ['A', 'B', 'D'],
    E: ['A', 'C', 'E'],
  };
  const r = selectThresholdSet({ signingSets, threshold: 3, seniority, proofs })!;
  assert.deepEqual(r.group, ['A', 'B', 'C']);
  assert.deepEqual(r.thresholdSet, ['A', 'B', 'C']);
  // member order in the inputs does not matter: a node that received the sets in another order agrees
  const shuffled = Object.fromEntries(Object.entries(signingSets).reverse().map(([k, v]) => [k, [...v].reverse()]));
  assert.deepEqual(selectThresholdSet({ signingSets: shuffled, threshold: 3, seniority, proofs }), r);
  // each member of the result sees every other member
  for (const a of r.group) for (const b of r.group) assert.ok((signingSets as Record<string, string[]>)[a]!.includes(b));
});

test('repeats until a group meets the threshold, or gives up', () => {
  // A-B-C triangle sees itself, D and E only each other plus A
  const signingSets = { A: ['A', 'B', 'C', 'D', 'E'], B: ['A', 'B', 'C'], C: ['A', 'B', 'C'], D: ['A', 'D', 'E'], E: ['A', 'D', 'E'] };
  assert.deepEqual(selectThresholdSet({ signingSets, threshold: 3, seniority, proofs })!.thresholdSet, ['A', 'B', 'C']);
  assert.equal(selectThresholdSet({ signingSets, threshold: 4, seniority, proofs }), null);
  assert.equal(selectThresholdSet({ signingSets: { A: ['A', 'B'], B: ['A', 'B'] }, threshold: 3, seniority, proofs }), null);
});

test('non-unique tss_proofs are pruned from the bottom up; the pool keeps seniority order', () => {
  const r = selectThresholdSet({ signingSets: all, threshold: 3, seniority, proofs: { ...proofs, D: 'pb' } })!;
  assert.deepEqual(r.pruned, ['D']);
  assert.deepEqual(r.ordered, ['A', 'B', 'C', 'E']);
  const r2 = selectThresholdSet({ signingSets: all, threshold: 3, seniority, proofs: { ...proofs, B: 'pa', C: 'pa' } })!;
  assert.deepEqual(r2.pruned, ['C', 'B']);
  assert.deepEqual(r2.thresholdSet, ['A', 'D', 'E']);
  assert.equal(selectThresholdSet({ signingSets: all, threshold: 4, seniority, proofs: { ...proofs, B: 'pa', C: 'pa' } }), null);
});

test('seniority decides ties when dropping', () => {
  // A and E do not see each other; all else fine. The junior (E) is dropped.
  const s = (x: string[]) => x;
  const signingSets = { A: s(['A', 'B', 'C', 'D']), B: seniority, C: seniority, D: seniority, E: s(['B', 'C', 'D', 'E']) };
  const r = selectThresholdSet({ signingSets, threshold: 3, seniority, proofs })!;
  assert.deepEqual(r.group, ['A', 'B', 'C', 'D']);
});
