import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BestChainHashes } from '../../src/chain/best-chain.js';
import type { BlockHeader, Tip } from '../../src/chain/types.js';

/** A header source over a chain we rewrite by hand; counts the reads. */
function fakeChain() {
  const hashes: string[] = [];
  const src = {
    reads: [] as number[],
    hashes,
    grow(n: number, tag: string) {
      for (let i = 0; i < n; i++) hashes.push(`${tag}${hashes.length}`);
    },
    reorg(depth: number, tag: string) {
      hashes.length -= depth;
      src.grow(depth + 1, tag);
    },
    tip(): Tip {
      return { height: hashes.length - 1, hash: hashes[hashes.length - 1]!, time: 0 };
    },
    async getBlockHeaderByHeight(h: number): Promise<BlockHeader> {
      src.reads.push(h);
      return { height: h, hash: hashes[h]!, time: 0, prevHash: h > 0 ? hashes[h - 1]! : '' };
    },
  };
  return src;
}

test('BestChainHashes: one header read per new block for heights already asked about', async () => {
  const c = fakeChain();
  c.grow(11, 'a'); // heights 0..10
  const b = new BestChainHashes(c);
  await b.follow(c.tip());
  assert.deepEqual(c.reads, []);
  assert.equal(await b.contains(10, 'a10'), true, 'the tip needs no read');
  assert.equal(await b.contains(5, 'a5'), true);
  assert.equal(await b.contains(7, 'x7'), false);
  assert.equal(await b.contains(11, 'a11'), false, 'above the tip');
  assert.deepEqual(c.reads, [5, 7]);
  c.reads.length = 0;
  assert.equal(await b.contains(5, 'a5'), true);
  await b.follow(c.tip()); // same tip: nothing to check
  assert.deepEqual(c.reads, []);
  c.grow(2, 'a');
  await b.follow(c.tip());
  assert.deepEqual(c.reads, [10], 'only the highest remembered height is checked');
  assert.equal(await b.contains(5, 'a5'), true);
  assert.equal(await b.contains(7, 'a7'), true);
  assert.equal(await b.contains(12, 'a12'), true);
  assert.deepEqual(c.reads, [10]);
});

test('BestChainHashes: a reorg forgets the hashes the best chain lost, walking down to one it kept', async () => {
  const c = fakeChain();
  c.grow(13, 'a'); // 0..12
  const b = new BestChainHashes(c);
  await b.follow(c.tip());
  for (const h of [3, 8, 10]) assert.equal(await b.contains(h, `a${h}`), true);
  c.reorg(4, 'b'); // 9..12 replaced, new tip 13
  c.reads.length = 0;
  await b.follow(c.tip());
  assert.deepEqual(c.reads, [12, 10, 8], 'old tip and 10 lost, 8 kept: 3 is not asked');
  c.reads.length = 0;
  assert.equal(await b.contains(10, 'a10'), false);
  assert.equal(await b.contains(10, 'b10'), true);
  assert.equal(await b.contains(8, 'a8'), true);
  assert.equal(await b.contains(3, 'a3'), true);
  assert.equal(await b.contains(13, 'b13'), true);
  assert.deepEqual(c.reads, [10]);
  // A shorter tip (the source went back): heights above it are forgotten without a read.
  c.hashes.length = 12;
  c.reads.length = 0;
  await b.follow(c.tip());
  assert.deepEqual(c.reads, [10]);
  assert.equal(await b.contains(12, 'b12'), false);
});

test('BestChainHashes: retain drops heights nobody asks about; reset forgets everything', async () => {
  const c = fakeChain();
  c.grow(10, 'a');
  const b = new BestChainHashes(c);
  await b.follow(c.tip());
  await b.contains(2, 'a2');
  await b.contains(4, 'a4');
  b.retain(new Set([4]));
  assert.equal(b.takeReads(), 2);
  assert.equal(await b.contains(4, 'a4'), true);
  assert.equal(await b.contains(9, 'a9'), true, 'the tip is always kept');
  assert.equal(b.takeReads(), 0);
  assert.equal(await b.contains(2, 'a2'), true);
  assert.equal(b.takeReads(), 1, 'height 2 was dropped and read again');
  b.reset();
  assert.equal(await b.contains(4, 'a4'), false, 'no tip followed: nothing is in the best chain');
  await b.follow(c.tip());
  assert.equal(b.takeReads(), 0);
  assert.equal(await b.contains(4, 'a4'), true);
  assert.equal(b.takeReads(), 1);
});
