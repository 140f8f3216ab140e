import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { identity } from './helpers.js';
import { applyPullReply, servePull, type PullRequest } from '../../src/p2p/replication.js';
import { toWire, ZERO_CURSOR } from '../../src/custody/requests.js';
import { fakeDepositAddressFor, input, makeStore } from '../custody/request-fixtures.js';

async function source(n: number) {
  const id = await identity(0);
  const store = makeStore({ peerId: id.peerId, privateKey: id.key });
  for (let i = 0; i < n; i++) await store.create(input(i));
  return store;
}

describe('pull replication (no network)', () => {
  it('serves at most min(asked, server cap) records after the cursor', async () => {
    const src = await source(25);
    assert.equal(servePull(src, { after: ZERO_CURSOR, limit: 10 }, 10).records.length, 10);
    assert.equal(servePull(src, { after: ZERO_CURSOR, limit: 50 }, 10).records.length, 10);
    assert.equal(servePull(src, { after: ZERO_CURSOR, limit: 3 }, 10).records.length, 3);
  });

  it('pages through the whole store by advancing the cursor', async () => {
    const src = await source(25);
    const dst = makeStore(undefined);
    let asked: PullRequest = { after: ZERO_CURSOR, limit: 10 };
    const sizes: number[] = [];
    for (;;) {
      const reply = servePull(src, asked, 10);
      sizes.push(reply.records.length);
      const out = await applyPullReply(dst, 'src', asked, reply);
      assert.equal(out.violation, undefined);
      if (reply.records.length === 0) break;
      assert.deepEqual(out.cursor, reply.records.at(-1)!.cursor);
      asked = { after: out.cursor, limit: 10 };
    }
    assert.deepEqual(sizes, [10, 10, 5, 0]);
    assert.equal(dst.count(), 25);
    assert.deepEqual(dst.olderThan(Date.now() + 1).map((r) => r.id), src.olderThan(Date.now() + 1).map((r) => r.id));
  });

  it('applies out-of-order replies in ascending order', async () => {
    const src = await source(4);
    const dst = makeStore(undefined);
    const asked = { after: ZERO_CURSOR, limit: 10 };
    const reply = servePull(src, asked, 10);
    reply.records.reverse();
    const out = await applyPullReply(dst, 'src', asked, reply);
    assert.equal(out.inserted, 4);
    assert.deepEqual(dst.list({ limit: 10 }).map((s) => s.record.id), src.list({ limit: 10 }).map((s) => s.record.id));
  });

  it('refuses a reply larger than the limit as a whole', async () => {
    const src = await source(12);
    const dst = makeStore(undefined);
    const asked = { after: ZERO_CURSOR, limit: 10 };
    const out = await applyPullReply(dst, 'src', asked, servePull(src, { after: ZERO_CURSOR, limit: 12 }, 12));
    assert.equal(out.violation?.reason, 'replication-over-limit');
    assert.equal(dst.count(), 0);
    assert.deepEqual(out.cursor, ZERO_CURSOR);
  });

  it('refuses cursors at or before the requested one', async () => {
    const src = await source(3);
    const dst = makeStore(undefined);
    const all = servePull(src, { after: ZERO_CURSOR, limit: 10 }, 10);
    const asked = { after: all.records[1]!.cursor, limit: 10 };
    const out = await applyPullReply(dst, 'src', asked, all);
    assert.equal(out.violation?.reason, 'replication-bad-cursor');
    assert.equal(dst.count(), 0);
  });

  it('stores nothing invalid, reports it, and moves the cursor past it', async () => {
    const src = await source(3);
    const dst = makeStore(undefined);
    const asked = { after: ZERO_CURSOR, limit: 10 };
    const reply = servePull(src, asked, 10);
    const bad = { ...reply.records[1]!.record, amountSats: '999999' };
    reply.records[1] = { ...reply.records[1]!, record: bad };
    const out = await applyPullReply(dst, 'src', asked, reply);
    assert.equal(out.violation?.reason, 'replication-invalid-record');
    assert.match(out.violation!.detail, /id-mismatch/);
    assert.equal(dst.count(), 1);
    assert.equal(dst.get(bad.id), undefined);
    assert.deepEqual(out.cursor, reply.records[1]!.cursor);
  });

  it('stops before a record it cannot judge yet (unknown key epoch) without blame', async () => {
    const id = await identity(0);
    let epoch = 0;
    const src = makeStore({ peerId: id.peerId, privateKey: id.key }, { depositAddressFor: fakeDepositAddressFor([0, 1]), currentEpoch: () => epoch });
    await src.create(input(0));
    epoch = 1;
    await src.create(input(1));
    const dst = makeStore(undefined); // knows epoch 0 only
    const asked = { after: ZERO_CURSOR, limit: 10 };
    const reply = servePull(src, asked, 10);
    const out = await applyPullReply(dst, 'src', asked, reply);
    assert.equal(out.violation, undefined);
    assert.equal(out.inserted, 1);
    assert.deepEqual(out.cursor, reply.records[0]!.cursor);
    assert.equal(toWire(dst.list()[0]!.record).epoch, 0);
  });
});
