// Issue 16, "chain reads per block": a request stays watched requests.retainHours after it
// expired (a late deposit is refunded), so reading every watched address at every block made the
// reads per block follow the last day's requests. An expired request's address is now read at
// its slot heights only (one block in lateEveryBlocks); a late deposit is still found, a reorg
// still re-reads everything, and a restart does not re-read every expired address.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startDevchain, type RunningDevchain } from '../../src/chain/devchain/index.js';
import { DevchainClient } from '../../src/chain/devchain/client.js';
import type { ChainSource } from '../../src/chain/types.js';
import { DepositWatcher, depositMigrations } from '../../src/custody/deposits.js';
import { lateDepositReadHeight, lateDepositSlot, lateDepositVisible, slotsBetween } from '../../src/custody/late-deposits.js';
import { openDb } from '../../src/store/db.js';
import { p2wpkhKey } from '../chain/wallet.js';
import { countingChain } from './counting-chain.js';
import { ADAPTERS } from '../chain/core-proxy.js';

const K = 5;
const sorted = (xs: string[]) => [...xs].sort();

describe('late-deposit slots', () => {
  it('the read height is the first slot height at or above the deposit; visible from there on', () => {
    for (const id of ['a', 'req-7', 'ff'.repeat(32)]) {
      const slot = lateDepositSlot(id, K);
      assert.ok(slot >= 0 && slot < K);
      for (let h = 100; h < 100 + 2 * K; h++) {
        const r = lateDepositReadHeight(h, id, K);
        assert.ok(r >= h && r < h + K && r % K === slot, `${id} at ${h}: ${r}`);
        assert.equal(lateDepositVisible(h, id, r - 1, K), false);
        assert.equal(lateDepositVisible(h, id, r, K), true);
      }
      assert.equal(lateDepositVisible(123, id, 123, 1), true, 'every block is a slot with 1');
    }
    assert.deepEqual(slotsBetween(10, 12, K), new Set([1, 2]));
    assert.equal(slotsBetween(10, 15, K), null, 'a gap of K blocks covers every slot');
  });
});

for (const adapter of ADAPTERS) describe(`DepositWatcher, expired requests (${adapter.name})`, () => {
  let dc: RunningDevchain;
  let dev: DevchainClient;
  let chain: ChainSource;
  before(async () => {
    dc = await startDevchain({ network: 'regtest' });
    dev = new DevchainClient(dc.url);
    chain = adapter.make(dc, 'late');
  });
  after(() => dc.close());

  // 3 open requests and a vault, read at every block; 40 expired ones, read on their slots.
  function setup(clock: { t: number }, db = openDb(':memory:', depositMigrations)) {
    const c = countingChain(chain);
    const w = new DepositWatcher({ chain: c, db, minConfirmations: 1, mempoolRescanMs: 3_600_000, lateAfterMs: 60_000, lateEveryBlocks: K, now: () => clock.t });
    const nowSec = Math.floor(clock.t / 1000);
    const open = [100, 101, 102].map((s) => p2wpkhKey(s).address);
    const vault = p2wpkhKey(103).address;
    const late = Array.from({ length: 40 }, (_, i) => ({ address: p2wpkhKey(110 + i).address, id: `expired-${i}` }));
    open.forEach((a, i) => w.watch(a, { kind: 'deposit', requestId: `open-${i}`, expiry: nowSec + 86_400 }));
    w.watch(vault, { kind: 'vault', epoch: 1 });
    for (const l of late) w.watch(l.address, { kind: 'deposit', requestId: l.id, expiry: nowSec - 120 });
    return { c, w, db, open: [...open, vault], late };
  }

  it('reads per block are the open addresses plus the expired ones whose slot the block is: each expired one once in K blocks', async () => {
    const clock = { t: 5_000_000_000_000 };
    const { c, w, open, late } = setup(clock);
    await w.poll();
    assert.equal(c.addressReads.length, open.length + late.length, 'the first pass reads every address');
    const readsOf = new Map<string, number>();
    for (let b = 0; b < 2 * K; b++) {
      c.reset();
      const { height } = await dev.mine(1);
      clock.t += 1000;
      await w.poll();
      const due = late.filter((l) => lateDepositSlot(l.id, K) === height % K).map((l) => l.address);
      assert.deepEqual(sorted(c.addressReads), sorted([...open, ...due]), `block ${height}`);
      for (const a of due) readsOf.set(a, (readsOf.get(a) ?? 0) + 1);
    }
    for (const l of late) assert.equal(readsOf.get(l.address), 2, `${l.id} read once per ${K} blocks`);
    // While the tip stays, a mempool rescan reads the open addresses only.
    c.reset();
    clock.t += 3_600_000;
    await w.poll();
    assert.deepEqual(sorted(c.addressReads), sorted(open));
  });

  it('a late deposit to an expired request is found by its slot height, and its address is read at every block from then on', async () => {
    const clock = { t: 5_000_000_000_000 };
    const { c, w, open, late } = setup(clock);
    await w.poll();
    // The deposit goes into the next block h; pick an expired request whose slot is 3 blocks later.
    const h = (await chain.getTip()).height + 1;
    const target = late.find((l) => lateDepositSlot(l.id, K) === (h + 3) % K)!;
    const f = await dev.faucet(target.address, 60_000n);
    const readAt = lateDepositReadHeight(h, target.id, K);
    assert.equal(readAt, h + 3);
    for (;;) {
      const { height } = await dev.mine(1);
      clock.t += 1000;
      await w.poll();
      const found = w.list({ address: target.address });
      if (height < readAt) {
        assert.deepEqual(found, [], `not read yet at ${height}`);
        assert.equal(lateDepositVisible(h, target.id, height, K), false, 'and no round counts it at this anchor');
        continue;
      }
      assert.deepEqual(found.map((d) => [d.txid, d.status, d.blockHeight]), [[f.txid, 'confirmed', h]]);
      assert.equal(lateDepositVisible(h, target.id, height, K), true);
      break;
    }
    assert.equal(w.isLate(target.address), false, 'funds seen: followed at every block until refunded');
    c.reset();
    await dev.mine(1);
    clock.t += 1000;
    await w.poll();
    assert.ok(c.addressReads.includes(target.address));
    assert.ok(open.every((a) => c.addressReads.includes(a)));
  });

  it('a reorg, or a gap of K blocks, makes the next pass read every expired address', async () => {
    const clock = { t: 5_000_000_000_000 };
    const { c, w, open, late } = setup(clock);
    await w.poll();
    await dev.mine(1);
    await w.poll();
    c.reset();
    await dev.reorg(1);
    await w.poll();
    assert.deepEqual(sorted(c.addressReads), sorted([...open, ...late.map((l) => l.address)]), 'after a reorg');
    c.reset();
    await dev.mine(K);
    await w.poll();
    assert.deepEqual(sorted(c.addressReads), sorted([...open, ...late.map((l) => l.address)]), `after ${K} blocks at once`);
  });

  it('a restarted watcher reads the open addresses, the ones never read and the slots passed since, not every expired one', async () => {
    const clock = { t: 5_000_000_000_000 };
    const db = openDb(':memory:', depositMigrations);
    const { w, open, late } = setup(clock, db);
    await w.poll();
    const fresh = p2wpkhKey(160).address;
    w.watch(fresh, { kind: 'deposit', requestId: 'fresh', expiry: Math.floor(clock.t / 1000) + 600 }); // watched, not read yet
    const c2 = countingChain(chain);
    const w2 = new DepositWatcher({ chain: c2, db, minConfirmations: 1, mempoolRescanMs: 3_600_000, lateAfterMs: 60_000, lateEveryBlocks: K, now: () => clock.t });
    // (An expired request funded by the test before, on this shared chain, is followed at every block.)
    const funded = [...new Set(w.list({ status: ['seen', 'confirmed'] }).map((d) => d.address))].filter((a) => !open.includes(a));
    await w2.poll();
    assert.deepEqual(sorted(c2.addressReads), sorted([...open, ...funded, fresh]), 'same tip: no expired address to read');
    c2.reset();
    const { height } = await dev.mine(1);
    await w2.poll();
    const due = late.filter((l) => lateDepositSlot(l.id, K) === height % K && !funded.includes(l.address)).map((l) => l.address);
    assert.deepEqual(sorted(c2.addressReads), sorted([...open, ...funded, fresh, ...due]));
    db.close();
  });
});
