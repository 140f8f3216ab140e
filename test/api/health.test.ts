// /health's three answers from the node's inputs: 503 with every reason for an isolated node,
// 206 while catching up, 200 when ready; f+1 taken from the committee, not from the peers seen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateHealth } from '../../src/api/health.js';
import type { HealthInputs } from '../../src/api/types.js';

const LIMITS = { maxSkewMs: 5_000 };
const ready: HealthInputs = {
  chain: { reachable: true, lastAnswerAgeMs: 400, freshnessMs: 10_000, behind: false },
  clock: { skewMs: 12 },
  stake: { configured: true, valid: true },
  committee: { size: 7, member: true, shareHeld: true },
  epochsBehind: false,
  peers: { connectedStaked: 3, federationSize: 7 },
};

test('200 when the stake is valid, the share held, f+1 of the committee connected and the chain fresh', () => {
  const r = evaluateHealth(ready, LIMITS);
  assert.equal(r.httpStatus, 200);
  assert.equal(r.status, 'ok');
  assert.deepEqual(r.reasons, []);
  assert.deepEqual(r.connections, { connectedStaked: 3, required: 3, basis: 'committee' });
});

test('503 for an isolated node, with every reason', () => {
  const r = evaluateHealth(
    {
      chain: { reachable: false, error: 'ECONNREFUSED', lastAnswerAgeMs: null, freshnessMs: 10_000 },
      clock: { skewMs: null },
      stake: { configured: true, valid: false, reason: 'not verified yet' },
      committee: null,
      peers: { connectedStaked: 0, federationSize: 1 },
    },
    LIMITS,
  );
  assert.equal(r.httpStatus, 503);
  assert.equal(r.status, 'unhealthy');
  assert.deepEqual(r.reasons, ['chain unreachable: ECONNREFUSED', 'own stake not valid: not verified yet', '0 connections to staked peers, below f+1 = 1']);
});

test('isolated node does not set its own bar: the committee of 7 requires 3 connections whatever the peer table says', () => {
  const r = evaluateHealth({ ...ready, peers: { connectedStaked: 0, federationSize: 1 } }, LIMITS);
  assert.equal(r.httpStatus, 503);
  assert.deepEqual(r.reasons, ['0 connections to staked peers, below f+1 = 3 of the committee of 7']);
});

test('503 when a committee member lacks its share, a stake is missing or the chain source went stale', () => {
  assert.deepEqual(evaluateHealth({ ...ready, committee: { size: 4, member: true, shareHeld: false } }, LIMITS).reasons, ['committee member without the current key share']);
  assert.deepEqual(evaluateHealth({ ...ready, stake: { configured: false, valid: false } }, LIMITS).reasons, ['no stake configured (stake.txid, stake.vout)']);
  assert.deepEqual(evaluateHealth({ ...ready, chain: { ...ready.chain, lastAnswerAgeMs: 65_000 } }, LIMITS).reasons, ['chain source last answered 65 s ago, over the 10 s bound']);
  assert.deepEqual(evaluateHealth({ ...ready, clock: { skewMs: -9_000 } }, LIMITS).reasons, ['clock skew -9000 ms exceeds 5000 ms']);
});

test('a non-member needs no share, and f+1 of the whole committee', () => {
  const r = evaluateHealth({ ...ready, committee: { size: 4, member: false, shareHeld: false }, peers: { connectedStaked: 2, federationSize: 5 } }, LIMITS);
  assert.equal(r.httpStatus, 200);
  assert.equal(r.connections.required, 2);
});

test('206 while syncing: chain tip behind, epochs behind (share not yet held), or listening for a doppelganger', () => {
  const chain = evaluateHealth({ ...ready, chain: { ...ready.chain, behind: true } }, LIMITS);
  assert.equal(chain.httpStatus, 206);
  assert.equal(chain.status, 'syncing');
  assert.deepEqual(chain.syncing, ['chain tip behind the tip most staked peers announce']);
  const epochs = evaluateHealth({ ...ready, committee: { size: 7, member: true, shareHeld: false }, epochsBehind: true }, LIMITS);
  assert.equal(epochs.httpStatus, 206);
  assert.deepEqual(epochs.reasons, []);
  const listening = evaluateHealth({ ...ready, listening: true }, LIMITS);
  assert.equal(listening.httpStatus, 206);
  // Catching up never hides a fault: a fault makes it 503.
  assert.equal(evaluateHealth({ ...ready, listening: true, chain: { reachable: false } }, LIMITS).httpStatus, 503);
});
