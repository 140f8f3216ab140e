import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startDevchain, type RunningDevchain } from '../../src/chain/devchain/index.js';
import { DevchainClient } from '../../src/chain/devchain/client.js';
import { EsploraChainSource } from '../../src/chain/esplora.js';
import { DepositWatcher, depositMigrations } from '../../src/custody/deposits.js';
import { openDb } from '../../src/store/db.js';
import { p2trKey, p2wpkhKey, spend } from '../chain/wallet.js';

describe('DepositWatcher', () => {
  let dc: RunningDevchain;
  let dev: DevchainClient;
  let chain: EsploraChainSource;
  before(async () => {
    dc = await startDevchain({ network: 'regtest' });
    dev = new DevchainClient(dc.url);
    chain = new EsploraChainSource({ baseUrl: dc.url, network: 'regtest' });
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
});
