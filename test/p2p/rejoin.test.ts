// A member that every peer blocked for a while (a provable fault with a short block) comes back
// when the blocks expire. Found by the chaos harness: the blocked node's own gater spent its
// probation window on its outbound redials while the others still refused it, then refused its
// own redials for the whole cooldown, so it stayed isolated long after every block had expired.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addrOf, identity, makeNode, stakeMap, stopAll, waitFor } from './helpers.js';
import type { P2pNetwork } from '../../src/p2p/network.js';

test('a peer blocked by everyone is admitted again once the blocks expire', { timeout: 180_000 }, async () => {
  const ids = await Promise.all([0, 1, 2].map((i) => identity(i)));
  const checker = stakeMap(ids);
  // Probation shorter than the block, cooldown longer than the test: the shape of the chaos run.
  // Probation 3 s, not less: on a busy machine a first ping can take over a second to be judged,
  // and a window spent before it was would put the peer in the cooldown from the start.
  const over = { graceMs: 500, probationMs: 3_000, probationCooldownMs: 120_000, redialBaseMs: 200, redialMaxMs: 1_000 };
  const nets: P2pNetwork[] = [];
  try {
    nets.push(makeNode(ids[0]!, checker, over));
    await nets[0]!.start();
    for (const id of ids.slice(1)) {
      const n = makeNode(id, checker, { ...over, bootstrap: [addrOf(nets[0]!)] });
      nets.push(n);
      await n.start();
    }
    const [a, b, c] = nets as [P2pNetwork, P2pNetwork, P2pNetwork];
    await waitFor('all admitted', () => nets.every((n) => n.peers().length === 2), 40_000);
    const blockedAt = Date.now();
    a.block(c.peerId, 'PROTOCOL_VIOLATION', 'test', 8 / 3600);
    b.block(c.peerId, 'PROTOCOL_VIOLATION', 'test', 8 / 3600);
    await waitFor('c isolated', () => c.peers().length === 0 && c.connectedPeers().length === 0, 40_000);
    await waitFor('c admitted again on both sides', () => a.table.has(c.peerId) && b.table.has(c.peerId) && c.peers().length === 2, 30_000, 200);
    assert.ok(Date.now() - blockedAt >= 8_000, 'not before the blocks expired');
  } finally {
    await stopAll(nets);
  }
});
