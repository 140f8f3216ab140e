// Attacks on the transfer-request store (issue 16): id squatting, floods over the per-origin
// quotas, records from unstaked origins, and expired records coming back.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex } from '@noble/hashes/utils.js';
import { identity } from '../p2p/helpers.js';
import { applyPullReply, servePull, type PullResponse } from '../../src/p2p/replication.js';
import { requestIdOf, signingBytes, toWire, ZERO_CURSOR, type TransferRequest } from '../../src/custody/requests.js';
import { isMetanodeError } from '../../src/util/errors.js';
import { fakeDepositAddressFor, input, makeStore, wpkhAddress } from './request-fixtures.js';

const reply = (...records: TransferRequest[]): PullResponse => ({
  records: records.map((r, i) => ({ record: toWire(r), cursor: { timestamp: 1000 + i, timestampIndex: 0 } })),
});

/** What a squatter does: take an honest request's id and deposit address, put in its own addresses, sign as itself. */
async function squat(honest: TransferRequest, squatter: Awaited<ReturnType<typeof identity>>): Promise<TransferRequest> {
  const unsigned = { ...honest, payoutAddress: wpkhAddress('thief-pay'), refundAddress: wpkhAddress('thief-refund'), origin: squatter.peerId };
  delete (unsigned as Partial<TransferRequest>).signature;
  const signature = bytesToHex(await squatter.key.sign(signingBytes(unsigned)));
  return { ...unsigned, signature };
}

describe('request-id squatting', () => {
  it('a staked peer re-signing an honest request id with its own payout is refused, and the honest origin is never blamed', async () => {
    const alice = await identity(0);
    const mallory = await identity(1);
    const honest = await makeStore({ peerId: alice.peerId, privateKey: alice.key }).create(input(1));
    const forged = await squat(honest, mallory);
    assert.equal(forged.id, honest.id);
    // Everyone counts Mallory as staked: the refusal comes from the record itself.
    const node = makeStore(undefined, { originStanding: () => 'staked' });

    // The forged record arrives first (from Mallory): refused as invalid, nothing stored.
    const first = await applyPullReply(node, mallory.peerId, { after: ZERO_CURSOR, limit: 10 }, reply(forged));
    assert.equal(first.inserted, 0);
    assert.match(first.violation?.detail ?? '', /id-mismatch/);
    assert.equal(node.get(honest.id), undefined);

    // The honest record then arrives from an honest relay: stored, no violation, so no block.
    const second = await applyPullReply(node, 'honest-relay', { after: ZERO_CURSOR, limit: 10 }, reply(honest));
    assert.deepEqual([second.inserted, second.violation], [1, undefined]);
    assert.deepEqual(node.get(honest.id), honest);

    // Forged after honest: still refused for what it is, the stored record untouched.
    const third = await applyPullReply(node, mallory.peerId, { after: ZERO_CURSOR, limit: 10 }, reply(forged));
    assert.match(third.violation?.detail ?? '', /id-mismatch/);
    assert.deepEqual(node.get(honest.id), honest);

    // A re-delivery of the honest record (another relay, or the origin retrying) is a duplicate, not a violation.
    const again = await applyPullReply(node, alice.peerId, { after: ZERO_CURSOR, limit: 10 }, reply(honest));
    assert.deepEqual([again.duplicates, again.violation], [1, undefined]);
  });

  it('a squatter signing its own valid record gets its own id and deposit address, never the honest one', async () => {
    const alice = await identity(0);
    const mallory = await identity(1);
    const honest = await makeStore({ peerId: alice.peerId, privateKey: alice.key }).create(input(1));
    const forged = await squat(honest, mallory);
    const fixedId = requestIdOf(forged);
    assert.notEqual(fixedId, honest.id);
    assert.notEqual(fakeDepositAddressFor()(fixedId, 0), honest.depositAddress);
  });
});

describe('per-origin quotas', () => {
  it('a request over the open-requests quota is refused, naming the quota', async () => {
    const a = await identity(0);
    const store = makeStore({ peerId: a.peerId, privateKey: a.key }, { quotas: { maxOpenPerOrigin: 3, maxPerHourPerOrigin: 100 } });
    for (let i = 0; i < 3; i++) await store.create(input(i));
    await assert.rejects(
      store.create(input(3)),
      (e) => isMetanodeError(e, 'QUOTA_EXCEEDED') && e.detail?.quota === 'open-requests' && /3 open requests \(requests\.maxOpenPerOrigin\)/.test(e.message),
    );
    assert.equal(store.count(), 3);
  });

  it('a request over the hourly quota is refused at the origin, naming the quota', async () => {
    const a = await identity(0);
    const store = makeStore({ peerId: a.peerId, privateKey: a.key }, { quotas: { maxOpenPerOrigin: 100, maxPerHourPerOrigin: 2 } });
    await store.create(input(0));
    await store.create(input(1));
    await assert.rejects(store.create(input(2)), (e) => isMetanodeError(e, 'QUOTA_EXCEEDED') && e.detail?.quota === 'requests-per-hour' && /maxPerHourPerOrigin/.test(e.message));
  });

  it('a flooding origin: records past its hourly quota are refused by receivers, without blaming the relay', async () => {
    const a = await identity(0);
    const flooder = makeStore({ peerId: a.peerId, privateKey: a.key }, { quotas: { maxOpenPerOrigin: 100, maxPerHourPerOrigin: 100 } });
    for (let i = 0; i < 5; i++) await flooder.create(input(i));
    const node = makeStore(undefined, { quotas: { maxOpenPerOrigin: 100, maxPerHourPerOrigin: 3 } });
    const out = await applyPullReply(node, 'relay', { after: ZERO_CURSOR, limit: 10 }, servePull(flooder, { after: ZERO_CURSOR, limit: 10 }, 10));
    assert.deepEqual([out.inserted, out.refused, out.violation], [3, 2, undefined]);
    assert.equal(node.count(), 3);
  });
});

describe('origins are staked peers', () => {
  it('a record from an unstaked origin is refused without blame, and the cursor moves past it', async () => {
    const a = await identity(0);
    const src = makeStore({ peerId: a.peerId, privateKey: a.key });
    await src.create(input(0));
    const node = makeStore(undefined, { originStanding: () => 'unstaked' });
    const served = servePull(src, { after: ZERO_CURSOR, limit: 10 }, 10);
    const out = await applyPullReply(node, 'relay', { after: ZERO_CURSOR, limit: 10 }, served);
    assert.deepEqual([out.inserted, out.refused, out.violation], [0, 1, undefined]);
    assert.deepEqual(out.cursor, served.records[0]!.cursor);
    await assert.rejects(node.append(src.list()[0]!.record), (e) => isMetanodeError(e) && e.detail?.reason === 'origin-not-staked');
  });

  it('a record from an origin not heard of yet stops the cursor (retried later), and is skipped once patience runs out', async () => {
    const a = await identity(0);
    const src = makeStore({ peerId: a.peerId, privateKey: a.key });
    await src.create(input(0));
    const node = makeStore(undefined, { originStanding: () => 'unknown' });
    const served = servePull(src, { after: ZERO_CURSOR, limit: 10 }, 10);
    const waiting = await applyPullReply(node, 'relay', { after: ZERO_CURSOR, limit: 10 }, served);
    assert.deepEqual([waiting.inserted, waiting.stalledOn?.reason, waiting.cursor], [0, 'origin-unknown', ZERO_CURSOR]);
    const skipped = await applyPullReply(node, 'relay', { after: ZERO_CURSOR, limit: 10 }, served, { skipUnknownOrigin: true });
    assert.deepEqual([skipped.refused, skipped.violation, skipped.cursor], [1, undefined, served.records[0]!.cursor]);
  });
});

describe('archive', () => {
  it('archived records leave the store, and coming back they are duplicates; a long-expired record never seen is not taken', async () => {
    const a = await identity(0);
    let t = Date.now();
    const src = makeStore({ peerId: a.peerId, privateKey: a.key }, { now: () => t });
    const r1 = await src.create({ ...input(0), expiry: Math.floor(t / 1000) + 60 });
    const r2 = await src.create({ ...input(1), expiry: Math.floor(t / 1000) + 60 });
    const node = makeStore(undefined, { now: () => t, retainExpiredMs: 3_600_000 });
    await node.append(r1, 'p');
    t += 61_000 + 3_600_000;
    assert.deepEqual(node.expiredBefore(Math.floor((t - 3_600_000) / 1000), 10), [r1.id]);
    assert.equal(node.archive([{ id: r1.id, reason: 'expired' }]), 1);
    assert.equal(node.get(r1.id), undefined);
    assert.equal(node.archived(r1.id)?.reason, 'expired');
    assert.equal((await node.append(r1, 'p')).status, 'duplicate');
    assert.equal(node.count(), 0);
    await assert.rejects(node.append(r2, 'p'), (e) => isMetanodeError(e) && e.detail?.reason === 'expired-long-ago' && e.detail?.refused === true);
  });
});
