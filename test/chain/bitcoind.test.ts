import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { BitcoindChainSource } from '../../src/chain/bitcoind.js';
import { startDevchain, type RunningDevchain } from '../../src/chain/devchain/index.js';
import { addrDescriptor } from '../../src/chain/descriptor.js';
import { scriptToAddress } from '../../src/chain/network.js';
import { verifyStake } from '../../src/chain/stake.js';
import { isMetanodeError } from '../../src/util/errors.js';
import { coreProxy, coreSource, ok, rpcError } from './core-proxy.js';
import { p2trKey, p2wpkhKey, spend } from './wallet.js';

const rejectsWith = (code: string, re?: RegExp) => (e: unknown) => isMetanodeError(e) && e.code === code && (re === undefined || re.test(e.message));

describe('bitcoind RPC adapter against the devchain as Bitcoin Core', () => {
  let dc: RunningDevchain;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'btcrpc-'));
    dc = await startDevchain({ network: 'regtest', dataDir: dir });
  });
  after(async () => {
    await dc.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads tip, headers, transactions and outputs through the cookie, and broadcasts', async () => {
    const src = new BitcoindChainSource({ url: dc.url, network: 'regtest', cookieFile: dc.rpc.cookieFile, wallet: 'metanode', timeoutMs: 2000 });
    const k = p2wpkhKey(51);
    const f = dc.chain.faucet(k.address, 300_000n);
    dc.chain.mine(2);
    const tip = await src.getTip();
    assert.deepEqual(tip, { height: dc.chain.height(), hash: dc.chain.tip().hash, time: dc.chain.tip().time });
    const h1 = await src.getBlockHeaderByHeight(1);
    assert.deepEqual(h1, { hash: dc.chain.blockAt(1)!.hash, height: 1, time: dc.chain.blockAt(1)!.time, prevHash: dc.chain.blockAt(0)!.hash });
    // No -txindex: a confirmed transaction outside the wallet is unknown without its unspent output...
    assert.equal(await src.getTx(f.txid), null);
    // ...and found through it, proven by the block's transaction list against the header.
    const tx = await src.getTx(f.txid, { unspentVout: 0 });
    assert.ok(tx);
    assert.deepEqual(tx.status, { confirmed: true, blockHeight: 1, blockHash: h1.hash, blockTime: h1.time });
    assert.equal(tx.vout[0].address, k.address);
    assert.deepEqual(await src.getOutSpend(f.txid, 0), { spent: false });
    const s = spend([{ ...f, value: 300_000n, key: k }], [{ address: p2wpkhKey(52).address, value: 299_000n }]);
    assert.equal(await src.broadcast(s.hex), s.txid);
    assert.equal(await src.broadcast(s.hex), s.txid, 'Core answers a transaction already in its mempool with its txid');
    assert.deepEqual(await src.getOutSpend(f.txid, 0), { spent: true, txid: s.txid, status: { confirmed: false } });
    assert.deepEqual((await src.getTx(s.txid))?.status, { confirmed: false }, 'the mempool answers without -txindex');
    await assert.rejects(src.broadcast(spend([{ ...f, value: 300_000n, key: k }], [{ address: k.address, value: 298_000n }]).hex), rejectsWith('TX_REJECTED', /txn-mempool-conflict/));
    assert.equal(await src.getFeeRate(2), 1); // no estimate on regtest: the documented fallback
    assert.equal(scriptToAddress(tx.vout[0].scriptPubKey, 'regtest'), k.address);
  });

  it('maps RPC errors: -5 is "not found", -8 a height out of range, others keep their code and message', async () => {
    const src = coreSource(dc);
    assert.equal(await src.getTx('12'.repeat(32)), null);
    assert.equal(await src.getTx('12'.repeat(32), { unspentVout: 0 }), null);
    await assert.rejects(src.getBlockHeader('34'.repeat(32)), (e: unknown) => isMetanodeError(e, 'CHAIN_RPC_ERROR') && e.message === 'CHAIN_RPC_ERROR: bitcoind getblockheader: Block not found' && e.detail?.rpcCode === -5);
    await assert.rejects(src.getBlockHeaderByHeight(10_000), rejectsWith('INVALID_INPUT'));
    await assert.rejects(src.rpc.call('nosuchmethod', [], z.unknown()), (e: unknown) => isMetanodeError(e, 'CHAIN_RPC_ERROR') && e.detail?.rpcCode === -32601);
  });

  it('start checks: creates the watch-only wallet once, then loads it; refuses each missing piece with its own line', async () => {
    const src = coreSource(dc, { wallet: 'fresh-node' });
    await src.ready();
    assert.deepEqual(dc.rpc.core.wallets.loadedNames().includes('fresh-node'), true);
    const w = dc.rpc.core.wallets.get('fresh-node')!;
    assert.equal(w.privateKeys, false, 'private keys disabled');
    assert.equal(w.blank, true);
    dc.rpc.core.wallets.markLoaded('fresh-node', false); // bitcoind restarted without it
    await coreSource(dc, { wallet: 'fresh-node' }).ready();
    assert.equal(dc.rpc.core.wallets.isLoaded('fresh-node'), true, 'loaded again, not created twice');

    const other = await startDevchain({ network: 'regtest', core: { version: 270200, prunedBelow: 1, initialBlockDownload: true } });
    try {
      await assert.rejects(coreSource(other).ready(), (e: unknown) => {
        assert.ok(isMetanodeError(e, 'INVALID_CONFIG'));
        assert.deepEqual(e.detail?.problems, [
          'Bitcoin Core 27.2 (/Satoshi:27.2.0/) is too old: metanode needs 28.0 or later',
          'bitcoind is pruned: stakes are checked in the block that confirmed them, which a pruned node may have deleted; run bitcoind without -prune',
          'bitcoind is in initial block download (block 0 of 0 headers): start metanode once it has synced',
        ]);
        return true;
      });
      const mainnet = new BitcoindChainSource({ url: other.url, network: 'mainnet', user: other.rpc.user, password: other.rpc.password, wallet: 'metanode' });
      await assert.rejects(mainnet.ready(), rejectsWith('INVALID_CONFIG', /bitcoind runs chain 'regtest', configured network is mainnet \(bitcoind's 'main'\)/));
    } finally {
      await other.close();
    }
    const syncing = await startDevchain({ network: 'regtest', core: { initialBlockDownload: true } });
    try {
      await assert.rejects(coreSource(syncing).ready(), rejectsWith('CHAIN_UNAVAILABLE', /^CHAIN_UNAVAILABLE: bitcoind is in initial block download \(block 0 of 0 headers\): start metanode once it has synced$/));
    } finally {
      await syncing.close();
    }
    const noWallet = await startDevchain({ network: 'regtest', core: { disableWallet: true } });
    try {
      await assert.rejects(coreSource(noWallet).ready(), rejectsWith('INVALID_CONFIG', /- bitcoind runs with -disablewallet: metanode follows deposit and vault addresses in a watch-only wallet; remove -disablewallet$/));
    } finally {
      await noWallet.close();
    }
  });

  it('wallet errors: a wallet with private keys is refused, an unwatched address is refused, a refused import names the address', async () => {
    dc.rpc.core.handle(null, { method: 'createwallet', params: ['hot', false, false, '', false, true, true], id: 1 });
    await assert.rejects(coreSource(dc, { wallet: 'hot' }).ready(), rejectsWith('INVALID_CONFIG', /wallet 'hot' holds private keys: metanode follows its addresses in a watch-only wallet of its own/));

    const src = coreSource(dc, { wallet: 'errors' });
    const a = p2trKey(60).address;
    await assert.rejects(src.getAddressUtxos(a), rejectsWith('INVALID_INPUT', /does not watch .*: watchAddresses first/));
    await assert.rejects(src.watchAddresses([{ address: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', since: 0 }]), rejectsWith('INVALID_INPUT', /not a valid regtest address/));

    // Core refuses one descriptor of a batch: the error names it, the others stay imported.
    const b = p2trKey(61).address;
    const proxy = await coreProxy(dc, (_w, rpc) => {
      if (rpc.method !== 'importdescriptors') return undefined;
      const reqs = rpc.params[0] as { desc: string }[];
      return ok(rpc.id, reqs.map((r) => (r.desc === addrDescriptor(b) ? { success: false, error: { code: -4, message: 'Wallet is locked' } } : { success: true })));
    });
    try {
      const via = coreSource(dc, { url: proxy.url, wallet: 'errors' });
      await assert.rejects(via.watchAddresses([{ address: a, since: 0 }, { address: b, since: 0 }]), rejectsWith('CHAIN_RPC_ERROR', new RegExp(`refused to import ${b}: Wallet is locked$`)));
      assert.deepEqual(await via.getAddressUtxos(a), []);
      await assert.rejects(via.getAddressUtxos(b), rejectsWith('INVALID_INPUT'));
    } finally {
      await proxy.close();
    }

    // The wallet unloaded under a running node: Core's -18, with its message.
    dc.rpc.core.wallets.markLoaded('errors', false);
    const c = p2trKey(62).address;
    await assert.rejects(src.watchAddresses([{ address: c, since: 0 }]), rejectsWith('CHAIN_RPC_ERROR', /Requested wallet does not exist or is not loaded/));
    dc.rpc.core.wallets.markLoaded('errors', true);
  });

  it('an import that timed out during Core\'s rescan is not sent again once Core has the address', async () => {
    const a = p2trKey(63).address;
    let hangImports = true;
    const proxy = await coreProxy(dc, (wallet, rpc) => {
      if (rpc.method !== 'importdescriptors' || !hangImports) return undefined;
      dc.rpc.core.handle(wallet, rpc); // Core imports (and rescans) ...
      return 'hang'; // ... after the node stopped waiting
    });
    try {
      const src = new BitcoindChainSource({ url: proxy.url, network: 'regtest', user: dc.rpc.user, password: dc.rpc.password, wallet: 'slow-import', importTimeoutMs: 300 });
      await assert.rejects(src.watchAddresses([{ address: a, since: 0 }]), (e: unknown) => isMetanodeError(e, 'CHAIN_UNAVAILABLE') && e.detail?.timeout === true);
      hangImports = false;
      proxy.methods.length = 0;
      await src.watchAddresses([{ address: a, since: 0 }]);
      assert.deepEqual(proxy.methods, ['listdescriptors'], 'asked the wallet, imported nothing again');
      assert.deepEqual(await src.getAddressUtxos(a), []);
    } finally {
      await proxy.close();
    }
  });

  it('an unconfirmed deposit is listed from the mempool, then confirmed; a reorg that drops it leaves nothing, and its output is not "spent"', async () => {
    const src = coreSource(dc, { wallet: 'deposits' });
    const k = p2trKey(70);
    await src.watchAddresses([{ address: k.address, since: dc.chain.now() }]);
    const f = dc.chain.faucet(k.address, 123_000n);
    assert.deepEqual(await src.getAddressUtxos(k.address), [{ txid: f.txid, vout: 0, value: 123_000n, scriptPubKey: await hexScript(k.script), status: { confirmed: false } }]);
    dc.chain.mine(1);
    const b = dc.chain.tip();
    assert.deepEqual((await src.getAddressUtxos(k.address)).map((u) => u.status), [{ confirmed: true, blockHeight: b.height, blockHash: b.hash, blockTime: b.time }]);
    assert.deepEqual((await src.getTx(f.txid))?.status.blockHash, b.hash, 'a wallet transaction is found without -txindex');
    dc.chain.reorg(1, { dropTxs: true });
    assert.deepEqual(await src.getAddressUtxos(k.address), []);
    assert.deepEqual(await src.getOutSpend(f.txid, 0), { spent: false });
    assert.equal(await src.getTx(f.txid), null, 'the wallet remembers it, but neither chain nor mempool has it');
  });

  it('finds who spent a wallet output in a block through the wallet', async () => {
    const src = coreSource(dc, { wallet: 'spender' });
    const k = p2wpkhKey(71);
    await src.watchAddresses([{ address: k.address, since: dc.chain.now() }]);
    const f = dc.chain.faucet(k.address, 80_000n);
    dc.chain.mine(1);
    const s = spend([{ ...f, value: 80_000n, key: k }], [{ address: p2wpkhKey(72).address, value: 79_000n }]);
    await src.broadcast(s.hex);
    dc.chain.mine(2);
    const os = await src.getOutSpend(f.txid, 0);
    assert.equal(os.spent, true);
    assert.equal(os.txid, s.txid);
    assert.equal(os.status?.blockHeight, dc.chain.height() - 1);
  });

  it('refuses lying answers: a block transaction list repeating a txid (CVE-2012-2459) or not hashing to the header, a listed output paying another script, a swapped transaction', async () => {
    const k = p2wpkhKey(73);
    const f = dc.chain.faucet(k.address, 50_000n);
    const g = dc.chain.faucet(p2wpkhKey(74).address, 50_000n);
    dc.chain.mine(1);
    let extra = g.txid; // the block is [coinbase, f, g]: repeating g keeps the merkle root
    const proxy = await coreProxy(dc, (wallet, rpc) => {
      if (rpc.method === 'getblock') {
        const real = dc.rpc.core.handle(wallet, { ...rpc, params: rpc.params }).body as { result: { tx: string[] } };
        return ok(rpc.id, { ...real.result, tx: [...real.result.tx, extra] });
      }
      if (rpc.method === 'listunspent') return ok(rpc.id, [{ txid: g.txid, vout: 0, address: k.address, scriptPubKey: '0014' + '11'.repeat(20), amount: 0.0005, confirmations: 1 }]);
      if (rpc.method === 'getrawtransaction' && rpc.params[0] === g.txid) return ok(rpc.id, { txid: g.txid, hex: f.hex });
      return undefined;
    });
    try {
      const src = coreSource(dc, { url: proxy.url, wallet: 'liar' });
      await assert.rejects(src.getTx(f.txid, { unspentVout: 0 }), rejectsWith('CHAIN_BAD_RESPONSE', /a transaction is listed twice/));
      extra = 'ab'.repeat(32);
      await assert.rejects(src.getTx(f.txid, { unspentVout: 0 }), rejectsWith('CHAIN_BAD_RESPONSE', /do not hash to the header's merkle root/));
      await src.watchAddresses([{ address: k.address, since: 0 }]);
      await assert.rejects(src.getAddressUtxos(k.address), rejectsWith('CHAIN_BAD_RESPONSE', /paying another script/));
      await assert.rejects(src.getTx(g.txid), rejectsWith('CHAIN_BAD_RESPONSE'));
    } finally {
      await proxy.close();
    }
  });

  it('refuses wrong credentials and says how to read the cookie; times out on a bitcoind that never answers', async () => {
    await assert.rejects(new BitcoindChainSource({ url: dc.url, network: 'regtest', user: 'u', password: 'p', wallet: 'metanode' }).getTip(), rejectsWith('INVALID_CONFIG', /refused the RPC credentials \(HTTP 401\)/));
    const missing = new BitcoindChainSource({ url: dc.url, network: 'regtest', cookieFile: join(dir, 'nope', '.cookie'), wallet: 'metanode' });
    await assert.rejects(missing.getTip(), rejectsWith('CHAIN_UNAVAILABLE', /cannot read bitcoind cookie file .*: ENOENT/));
    const bad = join(dir, 'bad-cookie');
    writeFileSync(bad, 'no-colon');
    await assert.rejects(new BitcoindChainSource({ url: dc.url, network: 'regtest', cookieFile: bad, wallet: 'metanode' }).getTip(), rejectsWith('INVALID_CONFIG', /is not user:password/));
    const hung = await coreProxy(dc, () => 'hang');
    try {
      const src = coreSource(dc, { url: hung.url, timeoutMs: 300 });
      await assert.rejects(src.getTip(), (e: unknown) => isMetanodeError(e, 'CHAIN_UNAVAILABLE') && e.detail?.timeout === true && /no answer within 300 ms/.test(e.message));
    } finally {
      await hung.close();
    }
  });

  it('reads a fee estimate in BTC/kvB as sat/vB; -28 (warming up) is a transient failure', async () => {
    const proxy = await coreProxy(dc, (_w, rpc) =>
      rpc.method === 'estimatesmartfee' ? ok(rpc.id, { feerate: 0.00012, blocks: 3 }) : rpc.method === 'getblockchaininfo' ? rpcError(rpc.id, -28, 'Loading block index…') : undefined,
    );
    try {
      const src = new BitcoindChainSource({ url: proxy.url, network: 'mainnet', user: dc.rpc.user, password: dc.rpc.password, wallet: 'metanode' });
      assert.equal(await src.getFeeRate(3), 12);
      await assert.rejects(src.getTip(), rejectsWith('CHAIN_UNAVAILABLE', /Loading block index/));
    } finally {
      await proxy.close();
    }
  });

  it('a stake is checked without -txindex; a spent one is not found (Core keeps no spent-output index)', async () => {
    const src = coreSource(dc);
    const v = await verifyStake(src, { outpoint: { txid: '56'.repeat(32), vout: 0 }, peerId: 'x', minSats: 1n, network: 'regtest' });
    assert.deepEqual(v, { valid: false, reason: 'not-found', detail: `stake transaction ${'56'.repeat(32)} is unknown to the chain source, or its output 0 is spent` });
  });
});

async function hexScript(s: Uint8Array): Promise<string> {
  return Buffer.from(s).toString('hex');
}
