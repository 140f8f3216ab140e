import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { identity } from '../p2p/helpers.js';
import { compareCursor, cursorAfter, requestIdOf, validateTransferRequest, type TransferRequest } from '../../src/custody/requests.js';
import { isMetanodeError } from '../../src/util/errors.js';
import { fakeDepositAddressFor, input, makeStore, wpkhAddress } from './request-fixtures.js';

async function signedRecord() {
  const id = await identity(0);
  const store = makeStore({ peerId: id.peerId, privateKey: id.key });
  const rec = await store.create(input(1));
  return { id, store, rec };
}

describe('transfer request validation', () => {
  it('a created record validates anywhere with the same key epoch', async () => {
    const { rec } = await signedRecord();
    const other = makeStore(undefined);
    assert.deepEqual(await other.validate(rec), { ok: true });
    assert.deepEqual(await other.append(rec, 'peerX').then((r) => r.status), 'inserted');
    assert.deepEqual(other.get(rec.id), rec);
    assert.equal((await other.append(rec)).status, 'duplicate');
  });

  const now = Date.now();
  const ctx = { network: 'regtest' as const, now, depositAddressFor: fakeDepositAddressFor(), dustSats: 546n, maxFutureMs: 60_000, maxLifetimeSeconds: 30 * 86400 };
  const mutations: [string, (r: TransferRequest) => TransferRequest][] = [
    ['amount-dust', (r) => ({ ...r, amountSats: 500n })],
    ['amount-not-positive', (r) => ({ ...r, amountSats: 0n })],
    ['bad-payout-address', (r) => ({ ...r, payoutAddress: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4' })],
    ['bad-refund-address', (r) => ({ ...r, refundAddress: 'not-an-address-at-all' })],
    ['wrong-network', (r) => ({ ...r, network: 'mainnet' })],
    ['expired-at-creation', (r) => ({ ...r, expiry: Math.floor(r.timestamp / 1000) - 1 })],
    ['expiry-too-far', (r) => ({ ...r, expiry: Math.floor(r.timestamp / 1000) + 31 * 86400 })],
    ['timestamp-in-future', (r) => ({ ...r, timestamp: now + 3_600_000 })],
    ['bad-deposit-address', (r) => ({ ...r, depositAddress: wpkhAddress('elsewhere') })],
    ['unknown-epoch', (r) => ({ ...r, epoch: 7, id: requestIdOf({ ...r, epoch: 7 }) })],
    ['id-mismatch', (r) => ({ ...r, amountSats: r.amountSats + 1n })],
    ['id-mismatch', (r) => ({ ...r, id: 'ab'.repeat(32) })],
    ['bad-signature', (r) => {
      const id = requestIdOf({ ...r, amountSats: r.amountSats + 1n });
      return { ...r, amountSats: r.amountSats + 1n, id, depositAddress: fakeDepositAddressFor()(id, 0)! };
    }],
    ['bad-signature', (r) => ({ ...r, signature: '00'.repeat(64) })],
  ];
  for (const [reason, mutate] of mutations) {
    it(`refuses: ${reason}`, async () => {
      const { rec } = await signedRecord();
      const v = await validateTransferRequest(mutate(rec), ctx);
      assert.equal(v.ok, false);
      assert.equal((v as { reason: string }).reason, reason);
      assert.equal((v as { transient?: boolean }).transient === true, reason === 'unknown-epoch');
    });
  }

  it('refuses a record signed by someone other than its origin', async () => {
    const { rec } = await signedRecord();
    const other = await identity(1);
    const id = requestIdOf({ ...rec, origin: other.peerId });
    const v = await validateTransferRequest({ ...rec, origin: other.peerId, id, depositAddress: fakeDepositAddressFor()(id, 0)! }, ctx);
    assert.deepEqual(v, { ok: false, reason: 'bad-signature' });
  });

  it('an invalid record is not stored, and the error names the peer that served it', async () => {
    const { rec } = await signedRecord();
    const store = makeStore(undefined);
    await assert.rejects(store.append({ ...rec, amountSats: 1n }, 'peerEvil'), (e) => isMetanodeError(e, 'INVALID_INPUT') && e.culprits[0] === 'peerEvil' && e.detail?.reason === 'amount-dust');
    assert.equal(store.get(rec.id), undefined);
    assert.equal(store.count(), 0);
  });

  it('a re-delivered record is a duplicate, not a violation', async () => {
    const { rec } = await signedRecord();
    const store = makeStore(undefined);
    assert.equal((await store.append(rec, 'p1')).status, 'inserted');
    assert.equal((await store.append(rec, 'p2')).status, 'duplicate');
    assert.equal(store.count(), 1);
  });
});

describe('store ordering and cursors', () => {
  it('cursor comparisons', () => {
    assert.equal(cursorAfter({ timestamp: 2, timestampIndex: 0 }, { timestamp: 1, timestampIndex: 9 }), true);
    assert.equal(cursorAfter({ timestamp: 2, timestampIndex: 1 }, { timestamp: 2, timestampIndex: 0 }), true);
    assert.equal(cursorAfter({ timestamp: 2, timestampIndex: 0 }, { timestamp: 2, timestampIndex: 0 }), false);
    assert.ok(compareCursor({ timestamp: 1, timestampIndex: 5 }, { timestamp: 2, timestampIndex: 0 }) < 0);
  });

  it('positions are strictly increasing even within one millisecond, and list pages after a cursor', async () => {
    const id = await identity(0);
    let t = 1_700_000_000_000;
    const store = makeStore({ peerId: id.peerId, privateKey: id.key }, { now: () => t });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await store.create({ ...input(i), expiry: t / 1000 + 3600 })).id);
    t += 5;
    for (let i = 5; i < 7; i++) ids.push((await store.create({ ...input(i), expiry: t / 1000 + 3600 })).id);
    const all = store.list({ limit: 100 });
    assert.deepEqual(all.map((s) => s.record.id), ids);
    for (let i = 1; i < all.length; i++) assert.ok(cursorAfter(all[i]!.cursor, all[i - 1]!.cursor));
    // same millisecond: indexes 0..4; for own records the local position is the creation stamp
    assert.deepEqual(all.slice(0, 5).map((s) => s.cursor.timestampIndex), [0, 1, 2, 3, 4]);
    assert.deepEqual(all.map((s) => [s.record.timestamp, s.record.timestampIndex]), all.map((s) => [s.cursor.timestamp, s.cursor.timestampIndex]));
    const page = store.list({ after: all[2]!.cursor, limit: 3 });
    assert.deepEqual(page.map((s) => s.record.id), ids.slice(3, 6));
    assert.equal(store.list({ after: all[6]!.cursor }).length, 0);
    assert.equal(store.list().length, 7);
    // olderThan uses creation time
    assert.deepEqual(store.olderThan(1_700_000_000_001).map((r) => r.id), ids.slice(0, 5));
    assert.equal(store.olderThan(1_700_000_000_000).length, 0);
  });

  it('a record received late gets a later local position than records already served', async () => {
    const a = await identity(0);
    const b = await identity(1);
    let t = 1_700_000_000_000;
    const early = await makeStore({ peerId: b.peerId, privateKey: b.key }, { now: () => t }).create({ ...input(1), expiry: t / 1000 + 3600 });
    t += 1000;
    const store = makeStore({ peerId: a.peerId, privateKey: a.key }, { now: () => t });
    const mine = await store.create({ ...input(2), expiry: t / 1000 + 3600 });
    const cursorAfterMine = store.list()[0]!.cursor;
    t += 1;
    await store.append(early, b.peerId);
    // a peer whose cursor already passed `mine` still gets `early`
    assert.deepEqual(store.list({ after: cursorAfterMine }).map((s) => s.record.id), [early.id]);
    assert.ok(mine.timestamp > early.timestamp);
  });
});
