// A ping is judged asynchronously (stake and proof checks). A peer blocked while its ping is
// being judged (e.g. named in a round at that moment) must not be admitted by that ping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addrOf, identity, makeNode, stopAll, waitFor } from './helpers.js';
import type { StakeChecker, StakeVerdict } from '../../src/p2p/stake-checker.js';
import type { P2pNetwork } from '../../src/p2p/network.js';

test('a peer blocked while its ping is being judged is not admitted by that ping', { timeout: 120_000 }, async () => {
  const [a, b] = await Promise.all([identity(0), identity(1)]);
  let target: P2pNetwork | null = null;
  let judged = 0;
  const checker: StakeChecker = {
    async check(peerId: string, outpoint: string): Promise<StakeVerdict> {
      if (peerId === a.peerId && outpoint === a.stake) return a.verdict;
      if (peerId === b.peerId && outpoint === b.stake) {
        judged++;
        // the block lands between the envelope check (not blocked yet) and the admission
        target!.block(b.peerId, 'test', 'named while its ping was judged');
        return b.verdict;
      }
      return { valid: false, reason: 'not-found', detail: 'unknown' };
    },
  };
  target = makeNode(a, checker);
  const admitted: string[] = [];
  target.on('peer:admitted', (e) => admitted.push(e.peerId));
  await target.start();
  const other = makeNode(b, { check: async (p, o) => (p === a.peerId && o === a.stake ? a.verdict : { valid: false, reason: 'not-found', detail: 'unknown' }) }, { bootstrap: [addrOf(target)] });
  await other.start();
  try {
    await waitFor('the peer\'s ping judged', () => judged >= 1, 40_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(target.table.has(b.peerId), false, 'blocked peer in the table');
    assert.deepEqual(admitted, []);
    assert.equal(target.blocklist.get(b.peerId)?.reason, 'test');
  } finally {
    await stopAll([other, target]);
  }
});
