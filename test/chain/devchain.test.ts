import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevchain, type RunningDevchain } from '../../src/chain/devchain/index.js';
import { DevchainClient } from '../../src/chain/devchain/client.js';
import { EsploraChainSource } from '../../src/chain/esplora.js';
import { isMetanodeError } from '../../src/util/errors.js';
import { p2trKey, p2wpkhKey, spend } from './wallet.js';

async function rejected(p: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isMetanodeError(e, 'TX_REJECTED'), `expected TX_REJECTED, got ${String(e)}`);
    assert.equal(e.message, `TX_REJECTED: ${reason}`);
    return true;
  });
}

describe('devchain validation', () => {
  let dc: RunningDevchain;
  let dev: DevchainClient;
  let chain: EsploraChainSource;
  const a = p2wpkhKey(1);
  const b = p2trKey(2);
  const c = p2wpkhKey(3);

  before(async () => {
    dc = await startDevchain({ network: 'regtest' });
    dev = new DevchainClient(dc.url);
    chain = new EsploraChainSource({ baseUrl: dc.url, network: 'regtest', timeoutMs: 5000 });
  });
  after(() => dc.close());

  it('rejects a bad P2WPKH signature', async () => {
    const f = await dev.faucet(a.address, 50_000n);
    // another key's public key in the witness
    const other = spend([{ ...f, value: 50_000n, key: a }], [{ address: c.address, value: 49_000n }], {
      mutateWitness: (w) => {
        w[0][1] = Uint8Array.from(w[0][1]);
        w[0][1][5] ^= 1;
      },
    });
    const bad = other;
    await rejected(chain.broadcast(bad.hex), 'mandatory-script-verify-flag-failed (Witness program hash mismatch)');
    // a signature for a different amount than the coin holds (BIP143 commits to the amount)
    const bad2 = spend([{ ...f, value: 50_000n, key: a }], [{ address: c.address, value: 49_000n }], { claimValue: 50_001n });
    await rejected(
      chain.broadcast(bad2.hex),
      'mandatory-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)',
    );
  });

  it('rejects a bad Schnorr signature', async () => {
    const f = await dev.faucet(b.address, 50_000n);
    const bad = spend([{ ...f, value: 50_000n, key: b }], [{ address: c.address, value: 49_000n }], {
      mutateWitness: (w) => {
        w[0][0] = Uint8Array.from(w[0][0]);
        w[0][0][40] ^= 1;
      },
    });
    await rejected(chain.broadcast(bad.hex), 'mandatory-script-verify-flag-failed (Invalid Schnorr signature)');
  });

  it('rejects a spend of a missing output', async () => {
    const tx = spend([{ txid: 'ab'.repeat(32), vout: 0, value: 50_000n, key: a }], [{ address: c.address, value: 49_000n }]);
    await rejected(chain.broadcast(tx.hex), 'bad-txns-inputs-missingorspent');
  });

  it('rejects a mempool double spend, then a spend of a spent output', async () => {
    const f = await dev.faucet(a.address, 50_000n);
    const first = spend([{ ...f, value: 50_000n, key: a }], [{ address: c.address, value: 49_000n }]);
    assert.equal(await chain.broadcast(first.hex), first.txid);
    const second = spend([{ ...f, value: 50_000n, key: a }], [{ address: b.address, value: 48_000n }]);
    await rejected(chain.broadcast(second.hex), 'txn-mempool-conflict');
    await dev.mine(1);
    await rejected(chain.broadcast(second.hex), 'bad-txns-inputs-missingorspent');
    await rejected(chain.broadcast(first.hex), 'txn-already-known');
  });

  it('rejects outputs above inputs, dust, non-standard outputs and a fee below relay', async () => {
    const f = await dev.faucet(a.address, 50_000n);
    const key = { ...f, value: 50_000n, key: a };
    await rejected(chain.broadcast(spend([key], [{ address: c.address, value: 50_001n }], { claimValue: 60_000n }).hex), 'bad-txns-in-belowout');
    await rejected(chain.broadcast(spend([key], [{ address: c.address, value: 293n }]).hex), 'dust');
    await rejected(chain.broadcast(spend([key], [{ address: c.address, value: 50_000n }]).hex), 'min relay fee not met');
    const opTrue = new Uint8Array([0x51]);
    await rejected(chain.broadcast(spend([key], [{ script: opTrue, value: 10_000n }]).hex), 'scriptpubkey');
    const bigReturn = new Uint8Array([0x6a, 0x4c, 82, ...new Uint8Array(82)]);
    await rejected(chain.broadcast(spend([key], [{ script: bigReturn, value: 0n }, { address: c.address, value: 40_000n }]).hex), 'scriptpubkey');
    const okReturn = new Uint8Array([0x6a, 0x4c, 80, ...new Uint8Array(80)]);
    const ok = spend([key], [{ script: okReturn, value: 0n }, { address: c.address, value: 40_000n }]);
    assert.equal(await chain.broadcast(ok.hex), ok.txid);
  });

  it('rejects garbage hex', async () => {
    await assert.rejects(chain.broadcast('00'), (e: unknown) => isMetanodeError(e, 'INVALID_INPUT'));
  });
});

describe('devchain persistence', () => {
  const dir = mkdtempSync(join(tmpdir(), 'devchain-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a restart with the same dataDir keeps UTXOs, mempool, height and clock', async () => {
    const a = p2wpkhKey(4);
    const dc1 = await startDevchain({ network: 'regtest', dataDir: dir });
    const dev1 = new DevchainClient(dc1.url);
    const f = await dev1.faucet(a.address, 70_000n);
    await dev1.mine(3);
    const pending = await dev1.faucet(a.address, 1_000n);
    await dev1.advanceClock(3600);
    const before = await dev1.utxos();
    const tip1 = await new EsploraChainSource({ baseUrl: dc1.url, network: 'regtest' }).getTip();
    const now1 = dc1.chain.now();
    await dc1.close();

    const dc2 = await startDevchain({ network: 'regtest', dataDir: dir });
    try {
      const dev2 = new DevchainClient(dc2.url);
      const after2 = await dev2.utxos();
      assert.deepEqual(after2, before);
      assert.ok(after2.utxos.some((u) => u.txid === f.txid && u.confirmed && u.value === 70_000n));
      assert.ok(after2.utxos.some((u) => u.txid === pending.txid && !u.confirmed));
      const tip2 = await new EsploraChainSource({ baseUrl: dc2.url, network: 'regtest' }).getTip();
      assert.deepEqual(tip2, tip1);
      assert.ok(dc2.chain.now() >= now1);
      // the chain continues from where it was
      const m = await dev2.mine(1);
      assert.equal(m.height, tip1.height + 1);
    } finally {
      await dc2.close();
    }
  });
});

describe('devchain block timer and reorg', () => {
  it('mines on a timer, mempool included', async () => {
    const dc = await startDevchain({ network: 'regtest', blockIntervalMs: 30 });
    try {
      const dev = new DevchainClient(dc.url);
      const f = await dev.faucet(p2wpkhKey(6).address, 10_000n);
      const deadline = Date.now() + 10_000;
      while (!dc.chain.txStatus(f.txid).confirmed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(dc.chain.txStatus(f.txid).confirmed, true);
      assert.ok(dc.chain.height() >= 1);
    } finally {
      await dc.close();
    }
  });

  it('reorg returns still-valid transactions to the mempool, or drops them and their children', async () => {
    const dc = await startDevchain({ network: 'regtest' });
    try {
      const dev = new DevchainClient(dc.url);
      const chain = new EsploraChainSource({ baseUrl: dc.url, network: 'regtest' });
      const k = p2wpkhKey(7);
      const f = await dev.faucet(k.address, 80_000n);
      await dev.mine(2);
      const s = spend([{ ...f, value: 80_000n, key: k }], [{ address: k.address, value: 79_000n }]);
      await chain.broadcast(s.hex);
      await dev.mine(1);
      const h = dc.chain.height();
      const r1 = await dev.reorg(3);
      assert.equal(r1.height, h + 1);
      assert.deepEqual(new Set(r1.returnedToMempool), new Set([f.txid, s.txid]));
      assert.deepEqual((await chain.getTx(s.txid))?.status, { confirmed: false });
      assert.equal(await chain.getTx(r1.disconnected[0]), null, 'disconnected coinbase is gone');
      await dev.mine(1);
      assert.equal((await chain.getTx(s.txid))?.status.confirmed, true);
      const r2 = await dev.reorg(1, { dropTxs: true });
      assert.deepEqual(new Set(r2.dropped), new Set([f.txid, s.txid]));
      assert.equal(await chain.getTx(f.txid), null);
      const all = await dev.utxos();
      assert.ok(!all.utxos.some((u) => u.txid === f.txid || u.txid === s.txid));
      // no outpoint appears twice in the UTXO set
      assert.equal(new Set(all.utxos.map((u) => `${u.txid}:${u.vout}`)).size, all.utxos.length);
    } finally {
      await dc.close();
    }
  });

  it('reorg with `drop` forgets only the named transactions (and their children); the rest return to the mempool', async () => {
    const dc = await startDevchain({ network: 'regtest' });
    try {
      const dev = new DevchainClient(dc.url);
      const k = p2wpkhKey(8);
      const f1 = await dev.faucet(k.address, 50_000n);
      const f2 = await dev.faucet(k.address, 60_000n);
      await dev.mine(1);
      const s1 = spend([{ ...f1, value: 50_000n, key: k }], [{ address: k.address, value: 49_000n }]);
      const s2 = spend([{ ...f2, value: 60_000n, key: k }], [{ address: k.address, value: 59_000n }]);
      dc.chain.submit(s1.hex);
      dc.chain.submit(s2.hex);
      await dev.mine(1);
      const child = spend([{ txid: s1.txid, vout: 0, value: 49_000n, key: k }], [{ address: k.address, value: 48_000n }]);
      dc.chain.submit(child.hex);
      const r = await dev.reorg(1, { drop: [s1.txid] });
      assert.deepEqual(new Set(r.dropped), new Set([s1.txid, child.txid]));
      assert.deepEqual(r.returnedToMempool, [s2.txid]);
      assert.equal(dc.chain.outspend(f1.txid, f1.vout).spent, false, 'the dropped spend\'s input is unspent again');
      assert.equal((await dev.reorg(1, { drop: ['zz'] }).catch((e: Error) => e.message)).toString().includes('HTTP 400'), true);
    } finally {
      await dc.close();
    }
  });
});
