import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addrOf, identity, makeNode, stakeMap, stopAll, waitFor, type Ident, type MapStakeChecker } from './helpers.js';
import type { P2pNetwork } from '../../src/p2p/network.js';
import type { ProofChecker } from '../../src/p2p/ping.js';
import type { SkewStatus } from '../../src/p2p/clock.js';

// The proof checker stands in for verifyTssProof: a proof is valid iff it is the string the
// holder would make for (peer, epoch, round). Node roles: 0-2 honest holders, 3 sends a wrong
// proof, 4 is a holder that sends none, 5 has a clock 8 s fast, 6 a clock 5 s slow.
const proofFor = (peer: string, epoch: number, round: number) => Buffer.from(`${peer.slice(-8)}|${epoch}|${round}`).toString('hex');

describe('tss proofs, stake re-checks and clock skew', () => {
  const nodes: P2pNetwork[] = [];
  let ids: Ident[] = [];
  let checker: MapStakeChecker;
  const skewEvents: SkewStatus[] = [];

  before(async () => {
    ids = await Promise.all([0, 1, 2, 3, 4, 5, 6].map((i) => identity(i)));
    checker = stakeMap(ids);
    const holders = new Set(ids.slice(0, 5).map((x) => x.peerId));
    const proofChecker: ProofChecker = (peer, proof, ctx) => proof === proofFor(peer, ctx.epoch, ctx.round);
    const clock = () => ({ epoch: 1, round: Math.floor(Date.now() / 60_000) });
    for (const [i, id] of ids.entries()) {
      const skew = i === 5 ? 8000 : i === 6 ? -5000 : 0;
      const n = makeNode(id, checker, {
        bootstrap: nodes.map(addrOf), // full mesh: an invalid ping is not relayed, every node must hear it
        proofChecker,
        proofRequired: (peer) => holders.has(peer),
        makeProof: i === 4 ? () => undefined : i === 3 ? () => 'deadbeef' : (ctx) => proofFor(ctx.peerId, ctx.epoch, ctx.round),
        clock,
        now: () => Date.now() + skew,
        stakeTtlMs: 500,
        maxSkewMs: 2000,
      });
      if (i === 5) n.on('clock:skew', (s) => skewEvents.push(s));
      nodes.push(n);
      await n.start();
    }
  });

  after(async () => {
    await stopAll(nodes);
  });

  it('blocklists a wrong proof and a missing required proof; admits valid proofs', async () => {
    const honest = nodes.slice(0, 3);
    await waitFor('honest tables settle', () => honest.every((n) => n.blocklist.isBlocked(ids[3]!.peerId) && n.blocklist.isBlocked(ids[4]!.peerId) && n.peers().length === 4), 40_000);
    for (const n of honest) {
      assert.equal(n.blocklist.get(ids[3]!.peerId)?.reason, 'bad-tss-proof');
      assert.equal(n.blocklist.get(ids[4]!.peerId)?.reason, 'missing-tss-proof');
      const others = n.peers();
      // 5 and 6 are not required to prove but do, validly
      const provers = [0, 1, 2, 5, 6].map((i) => ids[i]!.peerId).filter((p) => p !== n.peerId).sort();
      assert.deepEqual(others.filter((e) => e.hasProof).map((e) => e.peerId).sort(), provers);
    }
  });

  it('the fast node sees its own skew; others see the slow peer lagging', async () => {
    const fast = nodes[5]!;
    await waitFor('fast node reports skew', () => fast.clockSkewStatus().ok === false && skewEvents.length > 0, 40_000);
    const s = fast.clockSkewStatus();
    assert.ok(s.ownOffsetMs > 5000 && s.ownOffsetMs < 11_000, `own offset ${s.ownOffsetMs}`);
    const honest = nodes[0]!;
    assert.equal(honest.clockSkewStatus().ok, true);
    assert.equal(honest.latenessExplainedBySkew(ids[6]!.peerId, 4000), true);
    assert.equal(honest.latenessExplainedBySkew(ids[6]!.peerId, 7000), false);
    assert.equal(honest.latenessExplainedBySkew(ids[1]!.peerId, 2000), false);
  });

  it('a stake that moves is caught by the scheduled re-check: the peer is dropped and blocklisted', async () => {
    const victim = ids[2]!;
    checker.verdicts.set(`${victim.peerId}|${victim.stake}`, { valid: false, reason: 'moved', detail: 'spent by a later tx' });
    const watchers = [nodes[0]!, nodes[1]!];
    await waitFor('moved stake refused', () => watchers.every((n) => n.blocklist.get(victim.peerId)?.reason === 'stake-moved' && !n.table.has(victim.peerId)), 40_000);
  });
});
