import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionGate } from '../../src/p2p/gater.js';
import { CachedStakeChecker, chainStakeChecker, type StakeVerdict } from '../../src/p2p/stake-checker.js';
import { faultTolerance, requiredConnections } from '../../src/p2p/connections.js';
import { topicName, directProtocol } from '../../src/p2p/topics.js';
import type { ChainSource } from '../../src/chain/types.js';

describe('AdmissionGate', () => {
  it('admits anyone unblocked during grace, then staked peers, and unknown peers only for one probation window', () => {
    let t = 0;
    const admitted = new Set(['staked']);
    const blocked = new Set(['bad']);
    const g = new AdmissionGate({ graceMs: 1000, probationMs: 100, probationCooldownMs: 10_000, isAdmitted: (p) => admitted.has(p), isBlocked: (p) => blocked.has(p), now: () => t });
    assert.equal(g.allow('stranger'), true);
    assert.equal(g.allow('bad'), false);
    t = 1000;
    assert.equal(g.inGrace(), false);
    assert.equal(g.allow('staked'), true);
    assert.equal(g.allow('stranger'), true); // probation opens
    t = 1050;
    assert.equal(g.allow('stranger'), true); // within the window
    assert.equal(g.shouldEvict('stranger'), false);
    t = 1100;
    assert.equal(g.allow('stranger'), false);
    assert.equal(g.shouldEvict('stranger'), true);
    assert.equal(g.shouldEvict('staked'), false);
    assert.equal(g.shouldEvict('bad'), true);
    t = 11_000; // after the cooldown a new window
    assert.equal(g.allow('stranger'), true);
    admitted.add('stranger');
    t = 50_000;
    assert.equal(g.shouldEvict('stranger'), false);
  });
});

describe('AdmissionGate, a staked member frozen past its window', () => {
  it('a member paused longer than the ping timeout and a window keeps its connection, not the cooldown; a peer that never proved a stake does not', () => {
    let t = 0;
    const proved = new Set(['member']);
    const blocked = new Set<string>();
    const g = new AdmissionGate({ graceMs: 1000, probationMs: 100, probationCooldownMs: 10_000, isAdmitted: () => false, isBlocked: (p) => blocked.has(p), provedStake: (p) => proved.has(p), now: () => t });
    t = 5_000;
    // Both dropped out of the table while silent: the stranger's window opens...
    assert.equal(g.shouldEvict('member'), false);
    assert.equal(g.shouldEvict('stranger'), false);
    t = 5_100; // ...and runs out while it cannot ping: it is evicted; the member is not.
    assert.equal(g.shouldEvict('member'), false);
    assert.equal(g.shouldEvict('stranger'), true);
    t = 9_000; // back, within the cooldown: the member may reconnect and ping, the stranger not
    assert.equal(g.allow('member'), true);
    assert.equal(g.allow('stranger'), false);
    assert.equal(g.inProbation('member'), true);
    // Blocklisted (a proven violation): refused and evicted like anyone.
    blocked.add('member');
    assert.equal(g.allow('member'), false);
    assert.equal(g.shouldEvict('member'), true);
  });
});

describe('CachedStakeChecker', () => {
  it('caches valid verdicts for the ttl, invalid ones shorter, and never caches a chain failure', async () => {
    let t = 0;
    let calls = 0;
    let answer: StakeVerdict | Error = { valid: true, seniority: { height: 1, txid: 'aa' }, amount: 1n, rewardAddress: 'r' };
    const c = new CachedStakeChecker({ check: async () => { calls++; if (answer instanceof Error) throw answer; return answer; } }, 1000, 100, () => t);
    assert.equal((await c.check('p', 'o')).valid, true);
    t = 999;
    await c.check('p', 'o');
    assert.equal(calls, 1);
    t = 1000;
    answer = { valid: false, reason: 'moved', detail: 'spent in tx ff' };
    assert.deepEqual(await c.check('p', 'o'), answer); // re-checked on schedule: the stake moved
    assert.equal(calls, 2);
    t = 1100;
    answer = new Error('connection refused');
    assert.deepEqual(await c.check('p', 'o'), { valid: false, reason: 'unavailable', detail: 'connection refused' });
    await c.check('p', 'o');
    assert.equal(calls, 4);
    // concurrent callers share one check
    answer = { valid: true, seniority: { height: 1, txid: 'aa' }, amount: 1n, rewardAddress: 'r' };
    await Promise.all([c.check('q', 'o'), c.check('q', 'o'), c.check('q', 'o')]);
    assert.equal(calls, 5);
  });

  it('chainStakeChecker maps verifyStake verdicts and refuses malformed outpoints', async () => {
    const chain = { getTx: async () => null } as unknown as ChainSource;
    const sc = chainStakeChecker(chain, { minSats: 1000n, minAgeSeconds: 259200, network: 'regtest' });
    const v = await sc.check('12D3KooWQvQ1hK5Ga5xPjVnTHtYbYVwsr6XzhRn8oTEvQjZf5bE3', 'ab'.repeat(32) + ':0');
    assert.equal(v.valid, false);
    assert.equal((v as { reason: string }).reason, 'not-found');
    assert.equal(((await sc.check('x', 'nope')) as { reason: string }).reason, 'malformed');
  });
});

describe('names and arithmetic', () => {
  it('f and f+1', () => {
    assert.deepEqual([1, 3, 4, 6, 7, 10].map(faultTolerance), [0, 0, 1, 1, 2, 3]);
    assert.deepEqual([1, 4, 7].map(requiredConnections), [1, 2, 3]);
  });
  it('topics and protocols are namespaced by network', () => {
    assert.equal(topicName('regtest', 'ping'), '/metanode/regtest/ping/1');
    assert.equal(directProtocol('mainnet'), '/metanode/mainnet/direct/1');
  });
});

describe('AdmissionGate: staked peers that drop out', () => {
  it('a staked peer dropped while the chain source was down is heard again, not locked out for the cooldown', () => {
    let t = 0;
    const inTable = new Set<string>();
    const blocked = new Set<string>();
    const g = new AdmissionGate({ graceMs: 1000, probationMs: 100, probationCooldownMs: 10_000, isAdmitted: (p) => inTable.has(p), isBlocked: (p) => blocked.has(p), now: () => t });
    t = 2000;
    // The member proves its stake once.
    assert.equal(g.allow('member'), true);
    inTable.add('member');
    g.admitted('member');
    // It drops out of the table (no verifiable ping for a while: the chain source was down).
    inTable.delete('member');
    for (t = 2000; t <= 30_000; t += 50) {
      assert.equal(g.shouldEvict('member'), false, `kept at ${t}`);
      assert.equal(g.allow('member'), true, `its redial is accepted at ${t}`);
      assert.equal(g.inProbation('member'), true, `its pings are heard at ${t}`);
    }
    // A stranger in the same minutes gets one window and then the cooldown, as before.
    assert.equal(g.allow('stranger'), true);
    t += 100;
    assert.equal(g.shouldEvict('stranger'), true);
    assert.equal(g.allow('stranger'), false);
    // A proven peer that is then blocklisted is refused and evicted like anyone.
    blocked.add('member');
    assert.equal(g.allow('member'), false);
    assert.equal(g.shouldEvict('member'), true);
  });
});
