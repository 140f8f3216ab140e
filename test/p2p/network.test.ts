import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addrOf, identity, makeNode, stakeMap, stopAll, waitFor, type Ident } from './helpers.js';
import { counterValue } from '../../src/p2p/metrics.js';
import type { P2pNetwork } from '../../src/p2p/network.js';
import { peerTableChecksum } from '../../src/p2p/peer-table.js';
import { committeePeers } from '../../src/node/peers.js';
import { computeRegroupCommittee } from '../../src/rounds/committee.js';

describe('5 staked nodes', () => {
  const nodes: P2pNetwork[] = [];
  let ids: Ident[] = [];
  const extra: P2pNetwork[] = [];

  before(async () => {
    ids = await Promise.all([0, 1, 2, 3, 4].map((i) => identity(i)));
    const young = await identity(5, { valid: false, reason: 'too-young', detail: 'confirmed 3600 s ago, needs 259200 s' });
    const bogus = await identity(6, { valid: false, reason: 'spent', detail: 'stake output was spent' });
    const checker = stakeMap([...ids, young, bogus]);
    nodes.push(makeNode(ids[0]!, checker));
    await nodes[0]!.start();
    const boot = [addrOf(nodes[0]!)];
    for (const id of ids.slice(1)) {
      const n = makeNode(id, checker, { bootstrap: boot });
      nodes.push(n);
      await n.start();
    }
    // The bad peers dial every node: an invalid ping is not relayed, so each node must hear it directly.
    const all = nodes.map(addrOf);
    for (const id of [young, bogus]) {
      const n = makeNode(id, checker, { bootstrap: all });
      extra.push(n);
      await n.start();
    }
  });

  after(async () => {
    await stopAll([...nodes, ...extra]);
  });

  it('every node lists the other four, with stake data, and agrees on the checksum', async () => {
    await waitFor('all peer tables complete', () => nodes.every((n) => n.peers().length === 4), 40_000);
    for (const [i, n] of nodes.entries()) {
      const listed = n.peers().map((e) => e.peerId).sort();
      assert.deepEqual(listed, ids.filter((_, j) => j !== i).map((x) => x.peerId).sort());
      const e = n.peers().find((x) => x.peerId === ids[(i + 1) % 5]!.peerId)!;
      const v = ids[(i + 1) % 5]!.verdict as { seniority: { height: number } ; rewardAddress: string; amount: bigint };
      assert.equal(e.seniority.height, v.seniority.height);
      assert.equal(e.rewardAddress, v.rewardAddress);
      assert.equal(e.amount, v.amount);
      assert.equal(e.stakeOutpoint, ids[(i + 1) % 5]!.stake);
    }
    const sums = nodes.map((n) => n.peerTableChecksum());
    assert.equal(new Set(sums).size, 1);
    assert.equal(sums[0], peerTableChecksum(ids.map((x) => ({ peerId: x.peerId, stakeOutpoint: x.stake, seniority: (x.verdict as any).seniority, rewardAddress: (x.verdict as any).rewardAddress }))));
  });

  it('a too-young stake is not eligible yet (ignored, not blocked); a spent stake is refused and blocklisted, with the reason', async () => {
    const [young, bogus] = extra.map((n) => n.peerId);
    const ignoredYoung = async (n: P2pNetwork) => counterValue(n.metrics.messagesIgnored, { type: 'ping', reason: 'stake-not-eligible-too-young' });
    await waitFor('bad peers judged everywhere', async () => {
      for (const n of nodes) if (!n.blocklist.isBlocked(bogus!) || (await ignoredYoung(n)) < 1) return false;
      return true;
    }, 10_000);
    for (const n of nodes) {
      assert.equal(n.blocklist.get(young!), undefined, 'too young is no violation');
      assert.equal(n.blocklist.get(bogus!)?.reason, 'stake-spent');
      assert.equal(n.table.has(young!), false);
      assert.equal(n.table.has(bogus!), false);
      assert.equal(n.stakeView.get(young!), undefined, 'not staked (yet) in the committee inputs either');
      // blocked for 72 h (a second concurrent refusal may extend it by milliseconds)
      const b = n.blocklist.get(bogus!)!;
      assert.ok(b.until >= b.since + 72 * 3600_000 && b.until <= Date.now() + 72 * 3600_000);
    }
    assert.ok((await counterValue(nodes[0]!.metrics.messagesRejected, { type: 'ping', reason: 'bad-stake' })) >= 1);
  });

  it('local block does not change the committee: the blocked peer leaves the table, not the stake view, and stays alive there through relayed pings', async () => {
    const [n0] = nodes;
    const target = nodes[4]!.peerId;
    const committeeOf = (n: P2pNetwork, now: number) => {
      const peers = committeePeers({ network: n as never, peerId: n.peerId, now: () => now, chainView: { tip: null, reachable: true, feeRate: null } });
      return computeRegroupCommittee({ peers, oldCommittee: [], now, offlineAfterMs: 2500, violations: [], cfg: { max: 15 } }).committee.map((m) => m.peerId);
    };
    await waitFor('stake views complete', () => nodes.every((n) => n.stakeView.list().length >= 4), 40_000);
    const before = committeeOf(n0!, Date.now());
    assert.equal(before.length, 5);
    n0!.block(target, 'test-local-block', 'one node\'s opinion');
    const blockedAt = Date.now();
    assert.equal(n0!.table.has(target), false);
    // Its pings still reach n0 through the other peers: alive in the stake view, not relayed, not admitted.
    await waitFor('a relayed ping of the blocked peer observed', () => (n0!.stakeView.get(target)?.lastSeen ?? 0) > blockedAt + 500, 40_000);
    assert.equal(n0!.table.has(target), false);
    assert.ok(n0!.blocklist.isBlocked(target));
    assert.deepEqual(committeeOf(n0!, Date.now()), before, 'same committee as before the block');
    assert.deepEqual(committeeOf(n0!, Date.now()), committeeOf(nodes[1]!, Date.now()), 'same committee as a node that blocks nobody');
    n0!.blocklist.unblock(target);
  });

  it('a stopped node drops out of every other table', async () => {
    const gone = nodes[4]!;
    await gone.stop();
    await waitFor('stopped node dropped', () => nodes.slice(0, 4).every((n) => !n.table.has(gone.peerId)), 40_000);
    for (const n of nodes.slice(0, 4)) assert.equal(n.peers().length, 3);
  });

  it('reports clock skew status and connection status', () => {
    const s = nodes[0]!.clockSkewStatus();
    assert.equal(s.ok, true);
    assert.equal(s.peers, 3);
    // 4 participants (3 peers + self): f = 1, so f + 1 = 2 connections to staked peers needed
    const c = nodes[1]!.connectionStatus()!;
    assert.equal(c.required, 2);
    assert.equal(c.stakedKnown, 3);
    assert.equal(c.ok, c.connectedStaked >= 2);
  });
});
