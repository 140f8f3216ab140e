// The node's upkeep of the request store (issue 16, "silent caps"): past 10,000 stored requests,
// new deposit addresses are still watched and their deposits still enter a custody candidate;
// the watch set is exactly the open requests plus the vaults; expired unfunded requests leave it,
// a late-funded expired one stays until a round refunds it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { identity } from '../p2p/helpers.js';
import { openDb } from '../../src/store/db.js';
import { nodeMigrations } from '../../src/node/migrations.js';
import { RequestStore, type TransferRequest } from '../../src/custody/requests.js';
import { DepositWatcher } from '../../src/custody/deposits.js';
import { RequestUpkeep, fundedRequests } from '../../src/node/request-upkeep.js';
import { buildCandidate, fromStoredRequest, type CandidateParams } from '../../src/custody/candidate.js';
import { addressFromScript, depositAddress, scriptFromAddress, scriptPubKeyFor, taprootOutputKey, vaultAddress } from '../../src/crypto/taproot.js';
import type { EpochKey } from '../../src/crypto/types.js';
import type { Utxo } from '../../src/chain/types.js';
import { input } from '../custody/request-fixtures.js';
import { lateDepositReadHeight, lateDepositSlot } from '../../src/custody/late-deposits.js';
import { staticChain } from '../support/static-chain.js';

const internal = bytesToHex(schnorr.getPublicKey(hexToBytes('01'.padStart(64, '0'))));
const KEY: EpochKey = { epoch: 1, network: 'regtest', outputKey: taprootOutputKey(internal).outputKey, internalKey: internal, threshold: 2, committee: [], verifyingShares: {}, commitments: [] };
const TIP = { height: 200, hash: 'aa'.repeat(32), time: 1_700_000_000 };

const fakeChain = (utxos: Map<string, Utxo[]>) => staticChain(TIP, utxos);

const confirmedAt = (height: number, txidByte: string, value: bigint, address: string): Utxo => ({
  txid: txidByte.repeat(32),
  vout: 0,
  value,
  scriptPubKey: scriptFromAddress(address, 'regtest'),
  status: { confirmed: true, blockHeight: height, blockHash: height.toString(16).padStart(64, '0') },
});

async function setup(now: () => number, count: number, onStored?: (r: TransferRequest) => void) {
  const me = await identity(0);
  const db = openDb(':memory:', nodeMigrations);
  const memo = new Map<string, string>();
  const requests = new RequestStore({
    db,
    network: 'regtest',
    signer: { peerId: me.peerId, privateKey: me.key },
    currentEpoch: () => 1,
    depositAddressFor: (id, epoch) => {
      if (epoch !== 1) return undefined;
      let a = memo.get(id);
      if (a === undefined) memo.set(id, (a = depositAddress(KEY, id)));
      return a;
    },
    quotas: { maxOpenPerOrigin: 1_000_000, maxPerHourPerOrigin: 1_000_000 },
    retainExpiredMs: 3_600_000,
    now,
    ...(onStored ? { onStored } : {}),
  });
  // (Each deposit address is one tweak of the epoch key; the store asks twice per record, at
  // creation and at validation: computed once here to keep 10,000 records quick.)
  const made: TransferRequest[] = [];
  for (let i = 0; i < count; i++) made.push(await requests.create({ ...input(i % 50), expiry: Math.floor(now() / 1000) + 600 }));
  return { db, requests, made };
}

describe('request upkeep', () => {
  it('deposits to request number 10,001 and later are watched and enter the custody candidate', async () => {
    const t0 = 1_700_000_000_000;
    const now = () => t0;
    const { db, requests, made } = await setup(now, 10_030);
    const late = [made[10_000]!, made[10_029]!]; // request number 10,001 and the last one
    const utxos = new Map(late.map((r, i) => [r.depositAddress, [confirmedAt(190, i ? 'b2' : 'b1', r.amountSats, r.depositAddress)]]));
    const vault = vaultAddress(KEY);
    utxos.set(vault, [confirmedAt(150, 'c1', 80_000n, vault)]);
    const chain = fakeChain(utxos);
    const deposits = new DepositWatcher({ chain, db, minConfirmations: 3, now });
    const upkeep = new RequestUpkeep({ db, requests, deposits, liveVaults: () => [{ epoch: 1, key: KEY }], retainMs: 3_600_000, now });
    upkeep.syncWatches();
    const watched = new Set(deposits.watched().map((w) => w.address));
    assert.equal(watched.size, 10_031, 'every open request plus the vault');
    for (const r of late) assert.ok(watched.has(r.depositAddress), `request ${made.indexOf(r) + 1} watched`);
    await deposits.poll();
    assert.equal(chain.reads, 10_031);
    const live = deposits.list({ status: ['seen', 'confirmed'] });
    assert.deepEqual(live.filter((d) => d.kind === 'deposit').map((d) => d.requestId).sort(), late.map((r) => r.id).sort());

    const funded = fundedRequests(requests, live, t0 + 60_000, new Set([1]));
    assert.deepEqual(funded.map((r) => r.id), late.map((r) => r.id));
    const params: CandidateParams = { minConfirmations: 3, replicationDelayMs: 10_000, transferFee: 2000n, feeRateMin: 1, feeRateMax: 50 };
    const candidate = buildCandidate(
      {
        key: KEY,
        roundId: 1,
        roundStartMs: t0 + 60_000,
        anchorHeight: TIP.height,
        feeRate: 2,
        requests: funded.map(fromStoredRequest),
        deposits: live.filter((d) => d.kind === 'deposit').map((d) => ({ txid: d.txid, vout: d.vout, value: d.value, scriptPubKey: d.scriptPubKey, height: d.blockHeight!, requestId: d.requestId! })),
        vaultUtxos: live.filter((d) => d.kind === 'vault').map((d) => ({ txid: d.txid, vout: d.vout, value: d.value, scriptPubKey: d.scriptPubKey, height: d.blockHeight! })),
        peers: [{ peerId: 'p1', rewardAddress: addressFromScript(scriptPubKeyFor(KEY), 'regtest') }],
      },
      params,
    );
    assert.ok(candidate, 'a candidate pays them');
    assert.deepEqual([...candidate.transferIds].sort(), late.map((r) => r.id).sort());
  });

  it('expired unfunded requests leave the store and the watch set; a late-funded expired one stays until refunded', async () => {
    let t = 1_700_000_000_000;
    const now = () => t;
    const { db, requests, made } = await setup(now, 3);
    const [unfunded, lateFunded, open] = made as [TransferRequest, TransferRequest, TransferRequest];
    const utxos = new Map<string, Utxo[]>();
    const deposits = new DepositWatcher({ chain: fakeChain(utxos), db, minConfirmations: 3, now });
    const upkeep = new RequestUpkeep({ db, requests, deposits, liveVaults: () => [{ epoch: 1, key: KEY }], retainMs: 3_600_000, now });
    upkeep.syncWatches();
    assert.equal(deposits.watched().length, 4);
    // A third request made later is still open when the first two are past expiry + retention.
    t += 600_000 + 3_600_000 + 1000;
    const fresh = await requests.create({ ...input(9), expiry: Math.floor(t / 1000) + 600 });
    utxos.set(lateFunded.depositAddress, [confirmedAt(190, 'd1', lateFunded.amountSats, lateFunded.depositAddress)]);
    utxos.set(fresh.depositAddress, [confirmedAt(190, 'd2', fresh.amountSats, fresh.depositAddress)]);
    upkeep.syncWatches();
    await deposits.poll();
    assert.equal(upkeep.archiveDone(), 2, 'the unfunded one and the third request of the first batch');
    assert.equal(requests.get(unfunded.id), undefined);
    assert.equal(requests.archived(unfunded.id)?.reason, 'expired');
    assert.ok(requests.get(lateFunded.id), 'funded after expiry: kept for its refund');
    assert.equal(requests.get(open.id), undefined);
    upkeep.syncWatches();
    const watched = new Set(deposits.watched().map((w) => w.address));
    assert.ok(!watched.has(unfunded.depositAddress));
    assert.ok(watched.has(lateFunded.depositAddress));
    assert.equal(watched.size, 3, 'late-funded + the new request + the vault');
    // The late deposit is refunded in the next round that pays a transfer (no transfer, no round).
    const live = deposits.list({ status: ['seen', 'confirmed'] });
    const c = buildCandidate(
      {
        key: KEY, roundId: 2, roundStartMs: t + 60_000, anchorHeight: TIP.height, feeRate: 2,
        requests: fundedRequests(requests, live, t + 60_000, new Set([1])).map(fromStoredRequest),
        deposits: live.map((d) => ({ txid: d.txid, vout: d.vout, value: d.value, scriptPubKey: d.scriptPubKey, height: d.blockHeight!, requestId: d.requestId! })),
        vaultUtxos: [],
        peers: [{ peerId: 'p1', rewardAddress: addressFromScript(scriptPubKeyFor(KEY), 'regtest') }],
      },
      { minConfirmations: 3, replicationDelayMs: 10_000, transferFee: 2000n, feeRateMin: 1, feeRateMax: 50 },
    );
    assert.ok(c);
    assert.equal(c.refunds.length, 1);
    assert.deepEqual(c.transferIds, [fresh.id]);
  });
  it('a request created after 10,000 expired ones is watched at once and its deposit found on the next block, without reading every expired address', async () => {
    let t = 1_700_000_000_000;
    const now = () => t;
    const K = 100;
    let upkeep: RequestUpkeep | undefined;
    const { db, requests, made } = await setup(now, 10_000, (r) => upkeep?.watchRecord(r));
    const tip = { ...TIP };
    const utxos = new Map<string, Utxo[]>();
    const chain = staticChain(tip, utxos);
    const deposits = new DepositWatcher({ chain, db, minConfirmations: 1, mempoolRescanMs: 3_600_000, lateAfterMs: 120_000, lateEveryBlocks: K, now });
    upkeep = new RequestUpkeep({ db, requests, deposits, liveVaults: () => [{ epoch: 1, key: KEY }], retainMs: 3_600_000, now });
    t += 900_000; // all 10,000 expired 5 minutes ago, still retained for a late deposit
    upkeep.syncWatches();
    await deposits.poll();
    assert.equal(chain.reads, 10_001, 'the first pass reads every address');

    const fresh = await requests.create({ ...input(7), expiry: Math.floor(t / 1000) + 600 });
    assert.ok(deposits.watched().some((w) => w.address === fresh.depositAddress), 'watched as it is stored, before any poll');
    tip.height += 1;
    tip.hash = 'bb'.repeat(32);
    const u = confirmedAt(tip.height, 'e1', fresh.amountSats, fresh.depositAddress);
    utxos.set(fresh.depositAddress, [{ ...u, status: { ...u.status, blockHash: tip.hash } }]);
    chain.reads = 0;
    await deposits.poll(); // (no syncWatches: the store walk is not what finds it)
    assert.deepEqual(deposits.list({ requestId: fresh.id }).map((d) => [d.status, d.blockHeight]), [['confirmed', tip.height]]);
    const due = made.filter((r) => lateDepositSlot(r.id, K) === tip.height % K).length;
    assert.equal(chain.reads, 2 + due, 'the vault, the new request and the expired ones whose slot this block is');
    assert.ok(chain.reads < 10_001 / K + 50);
  });

  it('a late deposit to an expired request is refunded only once the anchor reached its slot height', async () => {
    let t = 1_700_000_000_000;
    const now = () => t;
    const K = 10;
    const { requests, made } = await setup(now, 1);
    const expired = made[0]!;
    t += 700_000; // past its expiry; a request made now is open
    const fresh = await requests.create({ ...input(3), expiry: Math.floor(t / 1000) + 600 });
    // The deposit's block is the one just after its slot: it waits K - 1 blocks to be read.
    const h = 190 + ((((lateDepositSlot(expired.id, K) + 1 - 190) % K) + K) % K);
    const late = { txid: 'f1'.repeat(32), vout: 0, value: 30_000n, scriptPubKey: scriptFromAddress(expired.depositAddress, 'regtest'), height: h, requestId: expired.id };
    const paid = { txid: 'f2'.repeat(32), vout: 0, value: fresh.amountSats, scriptPubKey: scriptFromAddress(fresh.depositAddress, 'regtest'), height: h, requestId: fresh.id };
    const readAt = lateDepositReadHeight(h, expired.id, K);
    assert.equal(readAt, h + K - 1);
    const params: CandidateParams = { minConfirmations: 1, replicationDelayMs: 0, transferFee: 2000n, feeRateMin: 1, feeRateMax: 50, lateDepositEveryBlocks: K };
    const at = (anchor: number) =>
      buildCandidate(
        {
          key: KEY, roundId: 3, roundStartMs: t + 60_000, anchorHeight: anchor, feeRate: 2,
          requests: [expired, fresh].map(fromStoredRequest), deposits: [late, paid], vaultUtxos: [],
          peers: [{ peerId: 'p1', rewardAddress: addressFromScript(scriptPubKeyFor(KEY), 'regtest') }],
        },
        params,
      );
    for (let anchor = h; anchor < readAt; anchor++) {
      const c = at(anchor);
      assert.deepEqual(c?.refunds, [], `anchor ${anchor}: not every node has read the address yet`);
      assert.deepEqual(c?.transferIds, [fresh.id]);
    }
    for (const anchor of [readAt, readAt + 1]) {
      const c = at(anchor);
      assert.deepEqual(c?.refunds, [`${late.txid}:0`], `anchor ${anchor}`);
      assert.deepEqual(c?.transferIds, [fresh.id]);
    }
    assert.deepEqual(at(readAt - 1 + K)?.refunds, [`${late.txid}:0`]);
    assert.deepEqual(buildCandidate({ ...{ key: KEY, roundId: 3, roundStartMs: t + 60_000, anchorHeight: h, feeRate: 2, requests: [expired, fresh].map(fromStoredRequest), deposits: [late, paid], vaultUtxos: [], peers: [{ peerId: 'p1', rewardAddress: addressFromScript(scriptPubKeyFor(KEY), 'regtest') }] } }, { ...params, lateDepositEveryBlocks: 1 })?.refunds, [`${late.txid}:0`], 'with 1, at its own height');
  });

  it('a start archives every request past its retention, page by page, before the first watch sync', async () => {
    let t = 1_700_000_000_000;
    const now = () => t;
    const { db, requests } = await setup(now, 25);
    const deposits = new DepositWatcher({ chain: fakeChain(new Map()), db, minConfirmations: 1, now });
    const upkeep = new RequestUpkeep({ db, requests, deposits, liveVaults: () => [{ epoch: 1, key: KEY }], retainMs: 3_600_000, now, archiveBatch: 10 });
    t += 600_000 + 3_600_000 + 1000;
    assert.equal(await upkeep.archiveBacklog(), 25);
    assert.equal(requests.count(), 0);
    upkeep.syncWatches();
    assert.deepEqual(deposits.watched().map((w) => w.meta.kind), ['vault'], 'nothing past retention is watched');
  });
});
