import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { DevChain } from '../../src/chain/devchain/chain.js';
import { TxReject } from '../../src/chain/devchain/validate.js';
import { BitcoindChainSource } from '../../src/chain/bitcoind.js';
import { scriptToAddress, addressToScript } from '../../src/chain/network.js';
import { isMetanodeError } from '../../src/util/errors.js';
import { verifyStake } from '../../src/chain/stake.js';
import { p2wpkhKey, spend } from './wallet.js';

type Rpc = { method: string; params: unknown[]; id: unknown };

/**
 * A stand-in for bitcoind: answers with Bitcoin Core's documented shapes ({result, error, id},
 * HTTP 500 with the error object on RPC errors), backed by an in-process devchain.
 */
function coreLike(chain: DevChain, opts: { auth: string; feerate?: number; lie?: (rpc: Rpc) => unknown }) {
  const ok = (id: unknown, result: unknown) => ({ status: 200, body: { result, error: null, id } });
  const err = (id: unknown, code: number, message: string) => ({ status: code === -32601 ? 404 : 500, body: { result: null, error: { code, message }, id } });
  return (rpc: Rpc): { status: number; body: unknown } => {
    const { method, params, id } = rpc;
    if (opts.lie) {
      const l = opts.lie(rpc);
      if (l !== undefined) return ok(id, l);
    }
    switch (method) {
      case 'getblockchaininfo':
        return ok(id, { chain: 'regtest', blocks: chain.height(), headers: chain.height(), bestblockhash: chain.tip().hash, initialblockdownload: false });
      case 'getblockhash': {
        const b = chain.blockAt(params[0] as number);
        return b ? ok(id, b.hash) : err(id, -8, 'Block height out of range');
      }
      case 'getblockheader': {
        const b = chain.block(params[0] as string);
        if (!b) return err(id, -5, 'Block not found');
        if (params[1] === false) return ok(id, b.header);
        return ok(id, {
          hash: b.hash,
          confirmations: chain.height() - b.height + 1,
          height: b.height,
          version: 536870912,
          time: b.time,
          mediantime: b.time,
          nonce: 0,
          bits: '207fffff',
          nTx: b.txids.length,
          ...(b.height > 0 ? { previousblockhash: b.prevHash } : {}),
        });
      }
      case 'getrawtransaction': {
        const t = chain.tx(params[0] as string);
        if (!t) return err(id, -5, 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.');
        const s = chain.txStatus(t.p.txid);
        return ok(id, {
          txid: t.p.txid,
          hash: t.p.txid,
          hex: t.p.hex,
          ...(s.confirmed ? { blockhash: s.blockHash, confirmations: chain.height() - s.blockHeight! + 1, blocktime: s.blockTime, time: s.blockTime } : {}),
        });
      }
      case 'gettxout': {
        const [txid, vout] = params as [string, number];
        const t = chain.tx(txid);
        const o = t?.p.outputs[vout];
        if (!t || !o || chain.outspend(txid, vout).spent) return ok(id, null);
        const s = chain.txStatus(txid);
        return ok(id, { bestblock: chain.tip().hash, confirmations: s.confirmed ? chain.height() - s.blockHeight! + 1 : 0, value: Number(o.value) / 1e8, scriptPubKey: { hex: bytesToHex(o.script) }, coinbase: false });
      }
      case 'scantxoutset': {
        const desc = ((params[1] as { desc: string }[])[0]).desc;
        const address = desc.slice(5, -1);
        const unspents = chain
          .unspent(addressToScript(address, 'regtest'))
          .filter((c) => c.height !== undefined)
          .map((c) => ({ txid: c.txid, vout: c.vout, scriptPubKey: c.script, desc: `addr(${address})#xxxx`, amount: Number(c.value) / 1e8, coinbase: c.coinbase, height: c.height, blockhash: chain.blockAt(c.height!)!.hash }));
        return ok(id, { success: true, txouts: 1, height: chain.height(), bestblock: chain.tip().hash, unspents, total_amount: 0 });
      }
      case 'sendrawtransaction':
        try {
          return ok(id, chain.submit(params[0] as string));
        } catch (e) {
          if (e instanceof TxReject) return err(id, -26, e.reason);
          return err(id, -22, 'TX decode failed');
        }
      case 'estimatesmartfee':
        return opts.feerate === undefined
          ? ok(id, { errors: ['Insufficient data or no feerate found'], blocks: params[0] })
          : ok(id, { feerate: opts.feerate, blocks: params[0] });
      default:
        return err(id, -32601, 'Method not found');
    }
  };
}

async function serve(handler: (req: { auth?: string; rpc: Rpc }) => { status: number; body: unknown } | 'hang'): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const r = handler({ auth: req.headers.authorization, rpc: JSON.parse(text) });
    if (r === 'hang') return;
    const body = JSON.stringify(r.body);
    res.writeHead(r.status, { 'content-type': 'application/json' });
    res.end(body);
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

describe('bitcoind RPC adapter', () => {
  const chain = new DevChain();
  const dir = mkdtempSync(join(tmpdir(), 'btcrpc-'));
  const cookie = join(dir, '.cookie');
  writeFileSync(cookie, '__cookie__:s3cret\n');
  const expectAuth = 'Basic ' + Buffer.from('__cookie__:s3cret').toString('base64');
  let srv: { url: string; close(): Promise<void> };
  const rpc = coreLike(chain, { auth: expectAuth });
  before(async () => {
    srv = await serve(({ auth, rpc: r }) => (auth === expectAuth ? rpc(r) : { status: 401, body: '' }));
  });
  after(async () => {
    await srv.close();
    chain.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads tip, headers, transactions, outputs and UTXOs, and broadcasts', async () => {
    const src = new BitcoindChainSource({ url: srv.url, network: 'regtest', cookieFile: cookie, timeoutMs: 2000 });
    const k = p2wpkhKey(51);
    const f = chain.faucet(k.address, 300_000n);
    chain.mine(2);
    const tip = await src.getTip();
    assert.deepEqual(tip, { height: chain.height(), hash: chain.tip().hash, time: chain.tip().time });
    const h1 = await src.getBlockHeaderByHeight(1);
    assert.equal(h1.hash, chain.blockAt(1)!.hash);
    assert.equal(h1.prevHash, chain.blockAt(0)!.hash);
    const tx = await src.getTx(f.txid);
    assert.ok(tx);
    assert.deepEqual(tx.status, { confirmed: true, blockHeight: 1, blockHash: h1.hash, blockTime: h1.time });
    assert.equal(tx.vout[0].address, k.address);
    const utxos = await src.getAddressUtxos(k.address);
    assert.deepEqual(utxos.map((u) => [u.txid, u.vout, u.value, u.status.blockHeight]), [[f.txid, 0, 300_000n, 1]]);
    assert.deepEqual(await src.getOutSpend(f.txid, 0), { spent: false });
    const s = spend([{ ...f, value: 300_000n, key: k }], [{ address: p2wpkhKey(52).address, value: 299_000n }]);
    assert.equal(await src.broadcast(s.hex), s.txid);
    assert.deepEqual(await src.getOutSpend(f.txid, 0), { spent: true });
    await assert.rejects(src.broadcast(s.hex), (e: unknown) => isMetanodeError(e, 'TX_REJECTED') && e.message === 'TX_REJECTED: txn-already-in-mempool');
    assert.equal(await src.getFeeRate(2), 1); // no estimate on regtest: the documented fallback
    assert.equal(scriptToAddress(tx.vout[0].scriptPubKey, 'regtest'), k.address);
  });

  it('maps RPC error -5 to "not found" and other errors to their message', async () => {
    const src = new BitcoindChainSource({ url: srv.url, network: 'regtest', cookieFile: cookie });
    assert.equal(await src.getTx('12'.repeat(32)), null);
    await assert.rejects(src.getBlockHeader('34'.repeat(32)), (e: unknown) => isMetanodeError(e, 'CHAIN_RPC_ERROR') && e.message === 'CHAIN_RPC_ERROR: bitcoind getblockheader: Block not found' && e.detail?.rpcCode === -5);
    await assert.rejects(src.getBlockHeaderByHeight(10_000), (e: unknown) => isMetanodeError(e, 'INVALID_INPUT'));
    await assert.rejects(src.call('nosuchmethod', [], (await import('zod')).z.unknown()), (e: unknown) => isMetanodeError(e, 'CHAIN_RPC_ERROR') && e.detail?.rpcCode === -32601);
    const v = await verifyStake(src, { outpoint: { txid: '56'.repeat(32), vout: 0 }, peerId: 'x', minSats: 1n, network: 'regtest' });
    assert.deepEqual(v, { valid: false, reason: 'not-found', detail: `stake transaction ${'56'.repeat(32)} is unknown to the chain source` });
  });

  it('refuses wrong credentials, the wrong chain, and lying answers', async () => {
    const wrong = new BitcoindChainSource({ url: srv.url, network: 'regtest', user: 'u', password: 'p' });
    await assert.rejects(wrong.getTip(), (e: unknown) => isMetanodeError(e, 'INVALID_CONFIG'));
    const mainnet = new BitcoindChainSource({ url: srv.url, network: 'mainnet', cookieFile: cookie });
    await assert.rejects(mainnet.getTip(), (e: unknown) => isMetanodeError(e, 'INVALID_CONFIG') && /runs chain 'regtest'/.test(e.message));

    const f = chain.faucet(p2wpkhKey(53).address, 10_000n);
    const g = chain.faucet(p2wpkhKey(54).address, 10_000n);
    const liar = await serve(({ rpc: r }) =>
      coreLike(chain, {
        auth: '',
        lie: (x) => {
          if (x.method === 'getrawtransaction') return { txid: f.txid, hash: f.txid, hex: g.hex };
          if (x.method === 'getblockheader' && x.params[1] === false) return chain.blockAt(0)!.header;
          if (x.method === 'estimatesmartfee') return { feerate: 'cheap' };
          return undefined;
        },
      })(r),
    );
    try {
      const src = new BitcoindChainSource({ url: liar.url, network: 'regtest', user: 'u', password: 'p' });
      await assert.rejects(src.getTx(f.txid), (e: unknown) => isMetanodeError(e, 'CHAIN_BAD_RESPONSE'));
      await assert.rejects(src.getBlockHeader(chain.tip().hash), (e: unknown) => isMetanodeError(e, 'CHAIN_BAD_RESPONSE'));
      await assert.rejects(src.getFeeRate(), (e: unknown) => isMetanodeError(e, 'CHAIN_BAD_RESPONSE'));
    } finally {
      await liar.close();
    }
  });

  it('times out on a server that never answers, and reports an unreachable one', async () => {
    const hung = await serve(() => 'hang');
    try {
      const src = new BitcoindChainSource({ url: hung.url, network: 'regtest', user: 'u', password: 'p', timeoutMs: 300 });
      await assert.rejects(src.getTip(), (e: unknown) => isMetanodeError(e, 'CHAIN_UNAVAILABLE') && e.detail?.timeout === true && /no answer within 300 ms/.test(e.message));
    } finally {
      await hung.close();
    }
    const gone = new BitcoindChainSource({ url: hung.url, network: 'regtest', user: 'u', password: 'p', timeoutMs: 300 });
    await assert.rejects(gone.getTip(), (e: unknown) => isMetanodeError(e, 'CHAIN_UNAVAILABLE') && e.detail?.timeout === false);
  });

  it('reads a fee estimate in BTC/kvB as sat/vB', async () => {
    const fee = await serve(({ rpc: r }) => coreLike(chain, { auth: '', feerate: 0.00012 })(r));
    try {
      const src = new BitcoindChainSource({ url: fee.url, network: 'mainnet', user: 'u', password: 'p' });
      assert.equal(await src.getFeeRate(3), 12);
    } finally {
      await fee.close();
    }
  });
});
