import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startDevchain, type RunningDevchain } from '../../src/chain/devchain/index.js';
import { DevchainClient } from '../../src/chain/devchain/client.js';
import type { ChainSource } from '../../src/chain/types.js';
import { DepositWatcher, depositMigrations } from '../../src/custody/deposits.js';
import { openDb } from '../../src/store/db.js';
import { p2trKey, p2wpkhKey, spend } from '../chain/wallet.js';
import { countingChain } from './counting-chain.js';
import { ADAPTERS, coreProxy, coreSource } from '../chain/core-proxy.js';

const brief = (ev: { type: string; deposit: { txid: string; address: string } }[]) => ev.map((e) => [e.type, e.deposit.address, e.deposit.txid]);

// The same behaviour through either adapter: Esplora's address index, or Bitcoin Core's
// watch-only wallet (addresses imported as they are watched; mempool included).
for (const adapter of ADAPTERS) describe(`DepositWatcher (${adapter.name})`, () => {
  let dc: RunningDevchain;
  let dev: DevchainClient;
  let chain: ChainSource;
  before(async () => {
    dc = await startDevchain({ network: 'regtest' });
    dev = new DevchainClient(dc.url);
    chain = adapter.make(dc, 'deposits');
  });
  after(() => dc.close());

  it('a deposit reaches minConfirmations; a reorg that drops it makes it gone', async () => {
    const db = openDb(':memory:', depositMigrations);
    const w = new DepositWatcher({ chain, db, minConfirmations: 3 });
    const addr = p2trKey(41).address;
    w.watch(addr, { kind: 'deposit', requestId: 'req-1' });
    assert.deepEqual(await w.poll(), []);
    const f = await dev.faucet(addr, 250_000n);
    let ev = await w.poll();
    assert.deepEqual(ev.map((e) => [e.type, e.deposit.txid, e.deposit.confirmations]), [['seen', f.txid, 0]]);
    await dev.mine(2);
    assert.deepEqual(await w.poll(), []);
    assert.deepEqual(w.list({ requestId: 'req-1' }).map((d) => [d.status, d.confirmations, d.value]), [['seen', 2, 250_000n]]);
    await dev.mine(1);
    ev = await w.poll();
    assert.deepEqual(ev.map((e) => [e.type, e.deposit.confirmations, e.deposit.requestId]), [['confirmed', 3, 'req-1']]);

    // restart: a new watcher on the same database knows the deposit and the watch
    const w2 = new DepositWatcher({ chain, db, minConfirmations: 3 });
    assert.deepEqual(w2.list(), w.list());
    assert.deepEqual(w2.watched(), [{ address: addr, meta: { kind: 'deposit', requestId: 'req-1' } }]);

    await dev.reorg(3, { dropTxs: true });
    ev = await w.poll();
    assert.deepEqual(ev.map((e) => [e.type, e.deposit.txid]), [['gone', f.txid]]);
    assert.deepEqual(w.list({ status: 'gone' }).map((d) => [d.txid, d.confirmations, d.blockHash]), [[f.txid, 0, undefined]]);
    assert.deepEqual(w.list({ status: ['seen', 'confirmed'] }), []);
    db.close();
  });

  it('a reorg that returns the deposit to the mempool unconfirms it; a spend marks it spent', async () => {
    const w = new DepositWatcher({ chain, minConfirmations: 1 });
    const k = p2wpkhKey(42);
    w.watch(k.address, { kind: 'vault', epoch: 7 });
    const f = await dev.faucet(k.address, 90_000n);
    await dev.mine(1);
    let ev = await w.poll();
    assert.deepEqual(ev.map((e) => e.type), ['seen', 'confirmed']);
    assert.equal(ev[0].deposit.epoch, 7);
    await dev.reorg(1);
    ev = await w.poll();
    assert.deepEqual(ev.map((e) => [e.type, e.deposit.confirmations]), [['unconfirmed', 0]]);
    await dev.mine(1);
    ev = await w.poll();
    assert.deepEqual(ev.map((e) => e.type), ['confirmed']);
    const s = spend([{ ...f, value: 90_000n, key: k }], [{ address: p2wpkhKey(43).address, value: 89_000n }]);
    await chain.broadcast(s.hex);
    ev = await w.poll();
    assert.deepEqual(ev.map((e) => [e.type, e.deposit.spentBy]), [['spent', s.txid]]);
    w.unwatch(k.address);
    assert.deepEqual(w.watched(), []);
    assert.equal(w.list({ kind: 'vault' }).length, 1);
  });

  it('while the tip stays, addresses are re-read only once mempoolRescanMs passed: new deposit, mempool spend, eviction', async () => {
    let clock = 1_000_000;
    const c = countingChain(chain);
    const w = new DepositWatcher({ chain: c, minConfirmations: 1, mempoolRescanMs: 10_000, now: () => clock });
    const [a, b, d] = [50, 51, 52].map(p2wpkhKey);
    for (const k of [a, b, d]) w.watch(k.address, { kind: 'deposit', requestId: `req-${k.priv[0]}` });
    assert.deepEqual(await w.poll(), []);
    assert.deepEqual(c.addressReads, [a.address, b.address, d.address]);

    // A deposit in the mempool: invisible until the interval since the last full pass is over.
    c.reset();
    const f = await dev.faucet(b.address, 70_000n);
    clock += 300;
    assert.deepEqual(await w.poll(), []);
    clock += 9_699;
    assert.deepEqual(await w.poll(), []);
    assert.deepEqual(c.calls, { getTip: 2 }, 'no address read while the tip stays and the interval is not over');
    clock += 1;
    assert.deepEqual(brief(await w.poll()), [['seen', b.address, f.txid]]);
    assert.deepEqual(c.addressReads, [a.address, b.address, d.address]);

    // Spent in the mempool: 'spent' at the next rescan, not before.
    c.reset();
    const s = spend([{ ...f, value: 70_000n, key: b }], [{ address: p2wpkhKey(59).address, value: 69_000n }]);
    await chain.broadcast(s.hex);
    clock += 5_000;
    assert.deepEqual(await w.poll(), []);
    assert.deepEqual(c.addressReads, []);
    clock += 5_000;
    const spent = await w.poll();
    assert.deepEqual(brief(spent), [['spent', b.address, f.txid]]);
    assert.equal(spent[0].deposit.spentBy, s.txid);

    // Evicted from the source's mempool: 'gone' at the next rescan.
    const g = await dev.faucet(d.address, 80_000n);
    clock += 10_000;
    assert.deepEqual(brief(await w.poll()), [['seen', d.address, g.txid]]);
    c.evicted.add(g.txid);
    c.reset();
    clock += 9_999;
    assert.deepEqual(await w.poll(), []);
    assert.deepEqual(c.addressReads, []);
    clock += 1;
    assert.deepEqual(brief(await w.poll()), [['gone', d.address, g.txid]]);

    // A block (no clock change at all) re-reads everything: the evicted deposit is back, mined.
    c.evicted.clear();
    c.reset();
    await dev.mine(1);
    assert.deepEqual(brief(await w.poll()), [
      ['seen', d.address, g.txid],
      ['confirmed', d.address, g.txid],
    ]);
    assert.deepEqual(c.addressReads, [a.address, b.address, d.address]);
    assert.deepEqual(w.list({ status: 'spent' }).map((x) => x.txid), [f.txid]);
  });

  it('a new block or a reorg re-reads every address at once; known block hashes cost one header read per block', async () => {
    const c = countingChain(chain);
    const w = new DepositWatcher({ chain: c, minConfirmations: 2, mempoolRescanMs: 3_600_000, now: () => 5_000 });
    const [a, b, e] = [60, 61, 62].map(p2trKey);
    const fa = await dev.faucet(a.address, 40_000n);
    await dev.mine(1);
    const fb = await dev.faucet(b.address, 50_000n);
    await dev.mine(1);
    for (const k of [a, b, e]) w.watch(k.address, { kind: 'vault', epoch: 3 });
    assert.deepEqual(brief(await w.poll()), [
      ['seen', a.address, fa.txid],
      ['confirmed', a.address, fa.txid],
      ['seen', b.address, fb.txid],
    ]);

    c.reset();
    assert.deepEqual(await w.poll(), []);
    assert.deepEqual(c.calls, { getTip: 1 });

    // One block: every address, one header read (is our last tip still in the best chain?), and
    // a second tip read to make sure the header was answered from the same chain.
    c.reset();
    await dev.mine(1);
    assert.deepEqual(brief(await w.poll()), [['confirmed', b.address, fb.txid]]);
    assert.deepEqual(c.calls, { getTip: 2, getBlockHeaderByHeight: 1, getAddressUtxos: 3 });
    c.reset();
    await dev.mine(1);
    assert.deepEqual(await w.poll(), []);
    assert.deepEqual(c.calls, { getTip: 2, getBlockHeaderByHeight: 1, getAddressUtxos: 3 });
    assert.deepEqual(w.list({ address: a.address }).map((x) => x.confirmations), [4]);

    // A reorg of the two blocks above b's deposit and b's own: b drops to 0 confirmations
    // (its transaction is back in the mempool), a keeps its block.
    c.reset();
    await dev.reorg(3);
    assert.deepEqual(brief(await w.poll()), [['unconfirmed', b.address, fb.txid]]);
    assert.equal(c.calls.getAddressUtxos, 3);
    assert.deepEqual(w.list().map((x) => [x.address, x.status, x.confirmations]), [
      [a.address, 'confirmed', 5],
      [b.address, 'seen', 0],
    ]);
    await dev.mine(2);
    assert.deepEqual(brief(await w.poll()), [['confirmed', b.address, fb.txid]]);
  });

  it('an address watched since the last pass is read on the next poll, alone; so is one the index has not caught up with', async () => {
    const c = countingChain(chain);
    const w = new DepositWatcher({ chain: c, minConfirmations: 1, mempoolRescanMs: 60_000, now: () => 7_000 });
    const [a, b] = [70, 71].map(p2wpkhKey);
    w.watch(a.address, { kind: 'deposit', requestId: 'req-a' });
    assert.deepEqual(await w.poll(), []);
    const fb = await dev.faucet(b.address, 30_000n);
    c.reset();
    w.watch(b.address, { kind: 'deposit', requestId: 'req-b' });
    assert.deepEqual(brief(await w.poll()), [['seen', b.address, fb.txid]]);
    assert.deepEqual(c.addressReads, [b.address]);
    c.reset();
    w.watch(b.address, { kind: 'deposit', requestId: 'req-b' }); // the same again: nothing new to read
    assert.deepEqual(await w.poll(), []);
    assert.deepEqual(c.addressReads, []);
    w.watch(b.address, { kind: 'deposit', requestId: 'req-b', epoch: 2 }); // new meta: read again
    assert.deepEqual(await w.poll(), []);
    assert.deepEqual(c.addressReads, [b.address]);
    assert.equal(w.list({ address: b.address })[0].epoch, 2);

    // Index lag: the source knows the tx but the address index does not list it yet. Not judged
    // (no 'gone'), and that address alone is read again on each poll until the index catches up.
    await dev.mine(1);
    c.unindexed.add(fb.txid);
    c.reset();
    assert.deepEqual(await w.poll(), []);
    assert.deepEqual(c.addressReads, [a.address, b.address]);
    c.reset();
    assert.deepEqual(await w.poll(), []);
    assert.deepEqual(c.addressReads, [b.address]);
    c.unindexed.clear();
    c.reset();
    assert.deepEqual(brief(await w.poll()), [['confirmed', b.address, fb.txid]]);
    assert.deepEqual(c.addressReads, [b.address]);
    c.reset();
    assert.deepEqual(await w.poll(), []);
    assert.deepEqual(c.addressReads, []);
  });

  it('address reads run at most readConcurrency at once; events follow watch order whatever order the reads finish in', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => p2trKey(80 + i));
    const funded = keys.filter((_, i) => i % 3 !== 1);
    const txids = new Map<string, string>();
    for (const k of funded) txids.set(k.address, (await dev.faucet(k.address, 20_000n + BigInt(txids.size))).txid);
    await dev.mine(1);
    const c = countingChain(chain);
    const order = new Map(keys.map((k, i) => [k.address, i]));
    c.delayFor = (address) => (keys.length - order.get(address)!) * 2; // the first watched finishes last
    const w = new DepositWatcher({ chain: c, minConfirmations: 1, readConcurrency: 4 });
    keys.forEach((k, i) => w.watch(k.address, { kind: 'deposit', requestId: `req-${i}` }));
    const ev = await w.poll();
    assert.deepEqual(
      brief(ev),
      funded.flatMap((k) => [
        ['seen', k.address, txids.get(k.address)!],
        ['confirmed', k.address, txids.get(k.address)!],
      ]),
    );
    assert.equal(c.calls.getAddressUtxos, 20);
    assert.equal(c.maxInFlight, 4);

    const c8 = countingChain(chain);
    const w8 = new DepositWatcher({ chain: c8, minConfirmations: 1 });
    keys.forEach((k, i) => w8.watch(k.address, { kind: 'deposit', requestId: `req-${i}` }));
    assert.equal((await w8.poll()).length, ev.length);
    assert.equal(c8.maxInFlight, 8, 'the default bound');
  });

  it('a pass that fails half way changes nothing, in memory or in the database; the next poll does it all', async () => {
    const db = openDb(':memory:', depositMigrations);
    const c = countingChain(chain);
    const w = new DepositWatcher({ chain: c, db, minConfirmations: 1, now: () => 9_000 });
    const [a, b] = [110, 111].map(p2wpkhKey);
    const fa = await dev.faucet(a.address, 11_000n);
    const fb = await dev.faucet(b.address, 12_000n);
    w.watch(b.address, { kind: 'deposit', requestId: 'req-b' });
    w.watch(a.address, { kind: 'deposit', requestId: 'req-a' });
    // A read fails.
    c.failNext.add(a.address);
    await assert.rejects(w.poll(), /injected failure reading/);
    assert.deepEqual(w.list(), []);
    assert.deepEqual(db.prepare('SELECT COUNT(*) AS n FROM deposits').get(), { n: 0 });
    assert.deepEqual(brief(await w.poll()), [
      ['seen', b.address, fb.txid],
      ['seen', a.address, fa.txid],
    ]);
    const before = w.list();
    const stored = db.prepare('SELECT * FROM deposits ORDER BY txid').all();

    // A question asked while judging fails after b's new deposit was already judged.
    const fb2 = await dev.faucet(b.address, 13_000n);
    const s = spend([{ ...fa, value: 11_000n, key: a }], [{ address: p2wpkhKey(112).address, value: 10_000n }]);
    await chain.broadcast(s.hex);
    c.failOutSpend = true;
    await assert.rejects(w.poll(), /injected failure asking who spends/);
    assert.deepEqual(w.list(), before);
    assert.deepEqual(db.prepare('SELECT * FROM deposits ORDER BY txid').all(), stored);
    assert.deepEqual(brief(await w.poll()), [
      ['seen', b.address, fb2.txid],
      ['spent', a.address, fa.txid],
    ]);
    assert.deepEqual(new DepositWatcher({ chain, db }).list(), w.list());
    db.close();
  });

  it('refuses a bad mempoolRescanMs or readConcurrency', () => {
    assert.throws(() => new DepositWatcher({ chain, mempoolRescanMs: -1 }), /mempoolRescanMs must be a non-negative integer/);
    assert.throws(() => new DepositWatcher({ chain, mempoolRescanMs: 1.5 }), /mempoolRescanMs must be a non-negative integer/);
    assert.throws(() => new DepositWatcher({ chain, readConcurrency: 0 }), /readConcurrency must be an integer from 1 to 256/);
  });
});

describe("DepositWatcher on Bitcoin Core's wallet", () => {
  let dc: RunningDevchain;
  before(async () => {
    dc = await startDevchain({ network: 'regtest' });
  });
  after(() => dc.close());

  it('a restart imports nothing twice; an address watched later is imported alone, with the time it was first watched', async () => {
    const proxy = await coreProxy(dc);
    try {
      const db = openDb(':memory:', depositMigrations);
      let clock = 1_700_000_000_000;
      const [a, b, c] = [120, 121, 122].map(p2trKey);
      const fa = dc.chain.faucet(a.address, 21_000n);
      const w = new DepositWatcher({ chain: coreSource(dc, { url: proxy.url, wallet: 'restart' }), db, minConfirmations: 1, now: () => clock });
      w.watch(a.address, { kind: 'deposit', requestId: 'req-a' });
      w.watch(b.address, { kind: 'vault', epoch: 1 });
      assert.deepEqual(brief(await w.poll()), [['seen', a.address, fa.txid]], 'a deposit already in the mempool is found by the import');
      assert.deepEqual(proxy.methods.filter((m) => m === 'importdescriptors' || m === 'createwallet'), ['createwallet', 'importdescriptors']);
      assert.equal(proxy.methods.filter((m) => m === 'listunspent').length, 1, 'one listunspent of the wallet serves every address read of a pass');
      const wallet = dc.rpc.core.wallets.get('restart')!;
      assert.deepEqual([...wallet.descriptors.values()].map((d) => [d.address, d.timestamp]).sort(), [a.address, b.address].map((x) => [x, 1_700_000_000]).sort());
      dc.chain.mine(1);
      clock += 60_000;
      assert.deepEqual(brief(await w.poll()), [['confirmed', a.address, fa.txid]]);

      // Restart: a new adapter (it knows nothing) and a watcher loaded from the database.
      proxy.methods.length = 0;
      clock += 60_000;
      const w2 = new DepositWatcher({ chain: coreSource(dc, { url: proxy.url, wallet: 'restart' }), db, minConfirmations: 1, now: () => clock });
      dc.chain.mine(1);
      assert.deepEqual(await w2.poll(), []);
      assert.deepEqual(w2.list().map((d) => [d.txid, d.status, d.confirmations]), [[fa.txid, 'confirmed', 2]]);
      assert.ok(proxy.methods.includes('listdescriptors'), 'the wallet is asked what it watches');
      assert.ok(!proxy.methods.includes('importdescriptors'), 'nothing imported twice');
      assert.ok(!proxy.methods.includes('createwallet'), 'the wallet is not created again');

      w2.watch(c.address, { kind: 'deposit', requestId: 'req-c' });
      clock += 5_000;
      await w2.poll();
      const imports = proxy.methods.filter((m) => m === 'importdescriptors').length;
      assert.equal(imports, 1);
      assert.equal(wallet.descriptors.size, 3);
      assert.equal([...wallet.descriptors.values()].find((d) => d.address === c.address)!.timestamp, Math.floor((1_700_000_000_000 + 120_000) / 1000));
      db.close();
    } finally {
      await proxy.close();
    }
  });
});
