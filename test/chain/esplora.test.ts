import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDevchain, type RunningDevchain } from '../../src/chain/devchain/index.js';
import { DevchainClient } from '../../src/chain/devchain/client.js';
import { EsploraChainSource } from '../../src/chain/esplora.js';
import { RetryingChainSource, withRetry } from '../../src/chain/retry.js';
import { isMetanodeError, MetanodeError } from '../../src/util/errors.js';
import { p2trKey, p2wpkhKey, spend } from './wallet.js';

describe('Esplora adapter against the devchain', () => {
  let dc: RunningDevchain;
  let dev: DevchainClient;
  let chain: EsploraChainSource;
  before(async () => {
    dc = await startDevchain({ network: 'regtest' });
    dev = new DevchainClient(dc.url);
    chain = new EsploraChainSource({ baseUrl: dc.url, network: 'regtest', timeoutMs: 5000 });
  });
  after(() => dc.close());

  it('funds, confirms, spends P2WPKH and P2TR key-path, and sees the spends', async () => {
    const w = p2wpkhKey(11);
    const t = p2trKey(12);
    const dest = p2wpkhKey(13);
    const fw = await dev.faucet(w.address, 100_000n);
    const ft = await dev.faucet(t.address, 200_000n);

    let utxos = await chain.getAddressUtxos(w.address);
    assert.deepEqual(utxos.map((u) => [u.txid, u.vout, u.value, u.status.confirmed]), [[fw.txid, 0, 100_000n, false]]);
    const start = await chain.getTip();
    await dev.mine(2);
    const tip = await chain.getTip();
    assert.equal(tip.height, start.height + 2);
    const conf = await chain.getTx(fw.txid);
    assert.ok(conf);
    assert.equal(conf.status.confirmed, true);
    assert.equal(conf.status.blockHeight, start.height + 1);
    assert.deepEqual(conf.vout, [{ value: 100_000n, scriptPubKey: Buffer.from(w.script).toString('hex'), address: w.address }]);
    const hdr = await chain.getBlockHeaderByHeight(start.height + 1);
    assert.equal(hdr.hash, conf.status.blockHash);
    assert.equal(hdr.time, conf.status.blockTime);
    assert.equal((await chain.getBlockHeader(tip.hash)).prevHash, (await chain.getBlockHeaderByHeight(tip.height - 1)).hash);
    utxos = await chain.getAddressUtxos(w.address);
    assert.equal(utxos[0].status.confirmed, true);

    const s1 = spend([{ ...fw, value: 100_000n, key: w }], [{ address: dest.address, value: 99_000n }]);
    assert.equal(await chain.broadcast(s1.hex), s1.txid);
    const s2 = spend([{ ...ft, value: 200_000n, key: t }], [{ address: dest.address, value: 150_000n }, { address: t.address, value: 49_000n }]);
    assert.equal(await chain.broadcast(s2.hex), s2.txid);
    // SIGHASH_ALL (65-byte signature) is accepted too
    const s3 = spend([{ txid: s2.txid, vout: 1, value: 49_000n, key: t }], [{ address: dest.address, value: 48_000n }], { sighash: 0x01 });
    assert.equal(await chain.broadcast(s3.hex), s3.txid);

    const os = await chain.getOutSpend(fw.txid, 0);
    assert.deepEqual(os, { spent: true, txid: s1.txid, status: { confirmed: false } });
    assert.deepEqual(await chain.getAddressUtxos(w.address), []);
    await dev.mine(1);
    const os2 = await chain.getOutSpend(ft.txid, 0);
    assert.equal(os2.spent, true);
    assert.equal(os2.txid, s2.txid);
    assert.equal(os2.status?.confirmed, true);
    assert.deepEqual(await chain.getOutSpend(s1.txid, 0), { spent: false });
    const destUtxos = await chain.getAddressUtxos(dest.address);
    assert.deepEqual(destUtxos.map((u) => u.value).sort(), [150_000n, 48_000n, 99_000n].sort());
    assert.equal(await chain.getTx('cd'.repeat(32)), null);
    assert.equal(await chain.getFeeRate(3), 2);
    await assert.rejects(chain.getAddressUtxos('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'), (e: unknown) => isMetanodeError(e, 'INVALID_INPUT'));
  });

  it('coinbase outputs mature after 100 blocks', async () => {
    const k = p2wpkhKey(14);
    const { hashes } = await dev.mine(1, k.address);
    const blk = dc.chain.block(hashes[0])!;
    const cb = await chain.getTx(blk.txids[0]);
    assert.ok(cb);
    const value = cb.vout[0].value;
    const tx = spend([{ txid: cb.txid, vout: 0, value, key: k }], [{ address: k.address, value: value - 1000n }]);
    await assert.rejects(chain.broadcast(tx.hex), (e: unknown) => isMetanodeError(e, 'TX_REJECTED') && e.message.endsWith('bad-txns-premature-spend-of-coinbase'));
    await dev.mine(99);
    assert.equal(await chain.broadcast(tx.hex), tx.txid);
  });
});

/** A fake Esplora server whose answers the test chooses. */
async function fakeServer(routes: Record<string, (path: string) => { status?: number; body: string } | 'hang'>): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    const key = Object.keys(routes).find((k) => new RegExp(k).test(path));
    const r = key ? routes[key](path) : { status: 404, body: 'not found' };
    if (r === 'hang') return;
    res.writeHead(r.status ?? 200);
    res.end(r.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('Esplora adapter against a lying or broken server', () => {
  let dc: RunningDevchain;
  let realTx: { txid: string; hex: string };
  let realBlock: { hash: string; header: string; height: number; time: number; prev: string };
  before(async () => {
    dc = await startDevchain({ network: 'regtest' });
    const f = await new DevchainClient(dc.url).faucet(p2wpkhKey(21).address, 5000n);
    const f2 = await new DevchainClient(dc.url).faucet(p2wpkhKey(21).address, 6000n);
    await new DevchainClient(dc.url).mine(1);
    realTx = { txid: f.txid, hex: f.hex };
    void f2;
    const b = dc.chain.tip();
    realBlock = { hash: b.hash, header: b.header, height: b.height, time: b.time, prev: b.prevHash };
  });
  after(() => dc.close());

  const bad = (e: unknown) => isMetanodeError(e, 'CHAIN_BAD_RESPONSE');

  it('rejects a transaction that does not hash to the requested txid', async () => {
    const other = dc.chain.tx(dc.chain.tip().txids[2])!.p.hex;
    const srv = await fakeServer({ '/hex$': () => ({ body: other }), '/status$': () => ({ body: '{"confirmed":false}' }) });
    try {
      const es = new EsploraChainSource({ baseUrl: srv.url, network: 'regtest' });
      await assert.rejects(es.getTx(realTx.txid), bad);
    } finally {
      await srv.close();
    }
  });

  it('rejects garbage, bad JSON shapes, inconsistent statuses and forged headers', async () => {
    const srv = await fakeServer({
      '^/tx/[0-9a-f]+/hex$': () => ({ body: realTx.hex }),
      '^/tx/[0-9a-f]+/status$': () => ({ body: '{"confirmed":true}' }),
      '^/tx/[0-9a-f]+/outspend/0$': () => ({ body: '{"spent":true}' }),
      '^/blocks/tip/hash$': () => ({ body: 'not a hash' }),
      '^/block-height/': () => ({ body: realBlock.hash }),
      [`^/block/${'ab'.repeat(32)}$`]: () => ({ body: JSON.stringify({ id: 'ab'.repeat(32), height: 5, timestamp: realBlock.time, previousblockhash: realBlock.prev }) }),
      [`^/block/${'ab'.repeat(32)}/header$`]: () => ({ body: realBlock.header }),
      [`^/block/${realBlock.hash}$`]: () => ({ body: JSON.stringify({ id: realBlock.hash, height: realBlock.height + 7, timestamp: realBlock.time, previousblockhash: realBlock.prev }) }),
      [`^/block/${realBlock.hash}/header$`]: () => ({ body: realBlock.header }),
      '^/address/': () => ({ body: JSON.stringify([{ txid: realTx.txid, vout: 0, value: 999_999, status: { confirmed: false } }]) }),
      '^/fee-estimates$': () => ({ body: '{"1": "fast"}' }),
      '^/tx$': () => ({ body: 'ff'.repeat(32) }),
    });
    try {
      const es = new EsploraChainSource({ baseUrl: srv.url, network: 'regtest' });
      await assert.rejects(es.getTx(realTx.txid), bad); // confirmed without block fields
      await assert.rejects(es.getOutSpend(realTx.txid, 0), bad); // spent without a spender
      await assert.rejects(es.getTip(), bad);
      await assert.rejects(es.getBlockHeader('ab'.repeat(32)), bad); // header hashes elsewhere
      await assert.rejects(es.getBlockHeaderByHeight(realBlock.height), bad); // height disagrees
      await assert.rejects(es.getAddressUtxos(p2wpkhKey(21).address), bad); // value not in the tx
      await assert.rejects(es.getFeeRate(1), bad);
      await assert.rejects(es.broadcast(realTx.hex), bad); // answers another txid
    } finally {
      await srv.close();
    }
  });

  it('maps 5xx and unreachable to CHAIN_UNAVAILABLE and a hung server to a bounded timeout', async () => {
    const srv = await fakeServer({ '^/blocks/tip/hash$': () => ({ status: 503, body: 'busy' }), '^/tx/': () => 'hang' });
    try {
      const es = new EsploraChainSource({ baseUrl: srv.url, network: 'regtest', timeoutMs: 300 });
      await assert.rejects(es.getTip(), (e: unknown) => isMetanodeError(e, 'CHAIN_UNAVAILABLE'));
      await assert.rejects(es.getTx(realTx.txid), (e: unknown) => isMetanodeError(e, 'CHAIN_UNAVAILABLE') && e.detail?.timeout === true);
    } finally {
      await srv.close();
    }
    const gone = new EsploraChainSource({ baseUrl: srv.url, network: 'regtest', timeoutMs: 300 });
    await assert.rejects(gone.getTip(), (e: unknown) => isMetanodeError(e, 'CHAIN_UNAVAILABLE'));
  });

  it('retries transient failures a bounded number of times, never bad responses', async () => {
    let calls = 0;
    const flaky = async () => {
      calls++;
      if (calls < 3) throw new MetanodeError('CHAIN_UNAVAILABLE', 'down');
      return 42;
    };
    assert.equal(await withRetry(flaky, { attempts: 4, baseDelayMs: 1 }), 42);
    assert.equal(calls, 3);
    calls = 0;
    await assert.rejects(withRetry(async () => { calls++; throw new MetanodeError('CHAIN_UNAVAILABLE', 'down'); }, { attempts: 3, baseDelayMs: 1 }));
    assert.equal(calls, 3);
    calls = 0;
    await assert.rejects(withRetry(async () => { calls++; throw new MetanodeError('CHAIN_BAD_RESPONSE', 'lie'); }, { attempts: 3, baseDelayMs: 1 }));
    assert.equal(calls, 1);
    let hits = 0;
    const srv = await fakeServer({ '^/blocks/tip/hash$': () => (++hits < 2 ? { status: 502, body: '' } : { body: dc.chain.tip().hash }), '^/block/': (p) => {
      const h = p.split('/')[2];
      const b = dc.chain.block(h)!;
      return p.endsWith('/header') ? { body: b.header } : { body: JSON.stringify({ id: b.hash, height: b.height, timestamp: b.time, previousblockhash: b.prevHash }) };
    } });
    try {
      const rc = new RetryingChainSource(new EsploraChainSource({ baseUrl: srv.url, network: 'regtest' }), { baseDelayMs: 1 });
      assert.equal((await rc.getTip()).hash, dc.chain.tip().hash);
      assert.equal(hits, 2);
    } finally {
      await srv.close();
    }
  });
});
