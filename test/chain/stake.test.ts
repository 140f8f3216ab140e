import '../../src/util/polyfill.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { bytesToHex } from '@noble/hashes/utils.js';
import { startDevchain, type RunningDevchain } from '../../src/chain/devchain/index.js';
import { DevchainClient } from '../../src/chain/devchain/client.js';
import type { ChainSource } from '../../src/chain/types.js';
import { ADAPTERS } from './core-proxy.js';
import { buildStakeTx, compareSeniority, parseStakeCommitment, stakeOpReturn, verifyStake } from '../../src/chain/stake.js';
import { p2trKey, p2wpkhKey, spend, type TestKey } from './wallet.js';

const MIN = 1_000_000n;

// The same verdicts through either adapter (Bitcoin Core without -txindex included), except where
// Core cannot know more: a stake spent in a block is 'moved' to Esplora, 'not-found' to Core.
for (const adapter of ADAPTERS) describe(`stake (${adapter.name})`, () => {
  let dc: RunningDevchain;
  let dev: DevchainClient;
  let chain: ChainSource;
  let peerA: string;
  let peerB: string;
  const op = p2wpkhKey(31);
  const reward = p2trKey(32);

  before(async () => {
    dc = await startDevchain({ network: 'regtest' });
    dev = new DevchainClient(dc.url);
    chain = adapter.make(dc, 'stake');
    // @libp2p/crypto and @libp2p/peer-id may resolve different @libp2p/interface copies
    const toPeerId = peerIdFromPrivateKey as unknown as (k: unknown) => { toString(): string };
    peerA = toPeerId(await generateKeyPair('Ed25519')).toString();
    peerB = toPeerId(await generateKeyPair('Ed25519')).toString();
  });
  after(() => dc.close());

  async function stake(key: TestKey, peerId: string, amount: bigint): Promise<string> {
    const f = await dev.faucet(key.address, amount + 10_000n);
    const tx = buildStakeTx({
      inputs: [{ txid: f.txid, vout: 0, value: amount + 10_000n, scriptPubKey: bytesToHex(key.script), tapInternalKey: key.internal }],
      stakeAddress: key.address,
      amount,
      peerId,
      rewardAddress: reward.address,
      changeAddress: key.address,
      feeSats: 1_000n,
      network: 'regtest',
    });
    tx.sign(key.priv);
    tx.finalize();
    return chain.broadcast(bytesToHex(tx.extract()));
  }

  const check = (txid: string, peerId = peerA, minSats = MIN, vout = 0) => verifyStake(chain, { outpoint: { txid, vout }, peerId, minSats, network: 'regtest' });

  it('encodes and parses the commitment', async () => {
    const script = stakeOpReturn(peerA, reward.address, 'regtest');
    assert.ok(script.length <= 83);
    const f = await dev.faucet(op.address, 50_000n);
    const tx = spend([{ ...f, value: 50_000n, key: op }], [{ address: op.address, value: 40_000n }, { script, value: 0n }]);
    const c = parseStakeCommitment(tx.hex, 'regtest');
    assert.deepEqual(c, { ok: true, commitment: { version: 1, peerId: peerA, rewardScript: bytesToHex(reward.script), rewardAddress: reward.address } });
    assert.equal(parseStakeCommitment(f.hex, 'regtest').ok, false);
  });

  it('gives each rejection reason, and valid once 72 hours of block time have passed', async () => {
    const txid = await stake(op, peerA, 2_000_000n);
    assert.deepEqual(await check(txid), { valid: false, reason: 'unconfirmed', detail: `stake transaction ${txid} is not confirmed` });
    await dev.mine(1);
    let v = await check(txid);
    assert.equal(v.valid, false);
    assert.equal(!v.valid && v.reason, 'too-young');
    v = await check(txid, peerB);
    assert.equal(!v.valid && v.reason, 'wrong-peer');
    v = await check(txid, peerA, 2_000_001n);
    assert.equal(!v.valid && v.reason, 'too-small');
    v = await check(txid, peerA, MIN, 1);
    assert.equal(!v.valid && v.reason, 'malformed');
    const plain = await dev.faucet(op.address, 3_000_000n);
    await dev.mine(1);
    v = await check(plain.txid);
    assert.deepEqual(v, { valid: false, reason: 'malformed', detail: 'no MNST OP_RETURN commitment' });
    v = await check('ef'.repeat(32));
    assert.equal(!v.valid && v.reason, 'not-found');

    await dev.advanceClock(72 * 3600 - 600);
    await dev.mine(1);
    v = await check(txid);
    assert.equal(!v.valid && v.reason, 'too-young');
    await dev.advanceClock(660); // blocks mined in a burst carry times a few seconds ahead of the clock
    await dev.mine(1);
    v = await check(txid);
    assert.ok(v.valid, JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x)));
    const stakeTx = await chain.getTx(txid, { unspentVout: 0 });
    assert.deepEqual(v.seniority, { height: stakeTx!.status.blockHeight, txid });
    assert.equal(v.amount, 2_000_000n);
    assert.equal(v.rewardAddress, reward.address);

    // moving the stake ends it, already when the spend is in the mempool
    const mv = spend([{ txid, vout: 0, value: 2_000_000n, key: op }], [{ address: op.address, value: 1_990_000n }]);
    await chain.broadcast(mv.hex);
    v = await check(txid);
    assert.equal(!v.valid && v.reason, 'moved');
    await dev.mine(1);
    v = await check(txid);
    assert.equal(!v.valid && v.reason, adapter.name === 'esplora' ? 'moved' : 'not-found');
  });

  it('a reorg that removes the confirming block makes the stake unconfirmed', async () => {
    const k = p2trKey(33);
    const txid = await stake(k, peerB, 1_500_000n);
    await dev.mine(1);
    await dev.advanceClock(73 * 3600);
    await dev.mine(1);
    assert.equal((await check(txid, peerB)).valid, true);
    await dev.reorg(2, { dropTxs: true });
    const v = await check(txid, peerB);
    assert.equal(!v.valid && v.reason, 'not-found');
  });

  it('orders seniority by height, then txid', async () => {
    const t1 = await stake(p2wpkhKey(34), peerA, MIN);
    await dev.mine(1);
    const t2 = await stake(p2wpkhKey(35), peerB, MIN);
    const t3 = await stake(p2trKey(36), peerA, MIN);
    await dev.mine(1);
    await dev.advanceClock(72 * 3600 + 120);
    await dev.mine(1);
    const seniorities = [];
    for (const [t, p] of [[t3, peerA], [t2, peerB], [t1, peerA]] as const) {
      const v = await check(t, p);
      assert.ok(v.valid);
      seniorities.push(v.seniority);
    }
    const sorted = [...seniorities].sort(compareSeniority);
    assert.equal(sorted[0].txid, t1);
    assert.equal(sorted[1].height, sorted[2].height);
    assert.ok(sorted[1].txid < sorted[2].txid);
    assert.deepEqual(new Set([sorted[1].txid, sorted[2].txid]), new Set([t2, t3]));
    assert.equal(compareSeniority({ height: 5, txid: 'b' }, { height: 5, txid: 'a' }), 1);
    assert.equal(compareSeniority({ height: 4, txid: 'b' }, { height: 5, txid: 'a' }), -1);
  });
});
