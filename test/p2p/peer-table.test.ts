import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openDb } from '../../src/store/db.js';
import { p2pMigrations } from '../../src/p2p/migrations.js';
import { PeerTable, peerTableChecksum, type PeerEntry } from '../../src/p2p/peer-table.js';
import { Blocklist } from '../../src/p2p/blocklist.js';
import { latenessExplainedBySkew, median, peerSkew, skewStatus } from '../../src/p2p/clock.js';

function entry(peerId: string, height: number, txid: string, over: Partial<PeerEntry> = {}): PeerEntry {
  return {
    peerId, seniority: { height, txid }, stakeOutpoint: `${txid}:0`, amount: 100_000n, rewardAddress: `bcrt1q${peerId}`, state: 'idle',
    lastSeen: 1000, firstSeen: 900, clockOffsetMs: 0, tip: 10, epoch: 0, round: 0, hasProof: false, ...over,
  };
}

const A = entry('peerA', 100, 'aa'.repeat(32));
const B = entry('peerB', 100, 'bb'.repeat(32));
const C = entry('peerC', 90, 'cc'.repeat(32));

describe('peerTableChecksum', () => {
  it('is independent of insertion order and of volatile fields', () => {
    const x = peerTableChecksum([A, B, C]);
    assert.match(x, /^[0-9a-f]{64}$/);
    assert.equal(peerTableChecksum([C, A, B]), x);
    assert.equal(peerTableChecksum([B, C, A]), x);
    const volatile = [{ ...A, lastSeen: 5, state: 'signing' as const, tip: 99, clockOffsetMs: 400 }, B, C];
    assert.equal(peerTableChecksum(volatile), x);
  });

  it('changes when a stable field or the member set changes', () => {
    const x = peerTableChecksum([A, B, C]);
    assert.notEqual(peerTableChecksum([A, B]), x);
    assert.notEqual(peerTableChecksum([{ ...A, rewardAddress: 'bcrt1qother' }, B, C]), x);
    assert.notEqual(peerTableChecksum([{ ...A, stakeOutpoint: A.stakeOutpoint.replace(':0', ':1') }, B, C]), x);
    assert.notEqual(peerTableChecksum([{ ...A, seniority: { height: 101, txid: A.seniority.txid } }, B, C]), x);
  });

  it('two tables filled in different order yield the same checksum', () => {
    const t1 = new PeerTable(openDb(':memory:', p2pMigrations));
    const t2 = new PeerTable(openDb(':memory:', p2pMigrations));
    for (const e of [A, B, C]) t1.upsert(e);
    for (const e of [C, B, A]) t2.upsert({ ...e, lastSeen: 7777 });
    assert.deepEqual(t1.list().map((e) => e.peerId), ['peerC', 'peerA', 'peerB']);
    assert.equal(peerTableChecksum(t1.list()), peerTableChecksum(t2.list()));
  });
});

describe('PeerTable', () => {
  it('persists entries (bigint amount intact) and expires silent peers', () => {
    const db = openDb(':memory:', p2pMigrations);
    const t = new PeerTable(db);
    t.upsert({ ...A, amount: 2_100_000_000_000_000n, lastSeen: 100 });
    t.upsert({ ...B, lastSeen: 5000 });
    const reloaded = new PeerTable(db);
    assert.equal(reloaded.get('peerA')?.amount, 2_100_000_000_000_000n);
    assert.deepEqual(reloaded.expire(1000), ['peerA']);
    assert.equal(new PeerTable(db).has('peerA'), false);
    assert.equal(new PeerTable(db).has('peerB'), true);
  });
});

describe('Blocklist', () => {
  it('blocks for the given hours with reason, persists, and expires', () => {
    let now = 1_000_000;
    const db = openDb(':memory:', p2pMigrations);
    const bl = new Blocklist(db, () => now);
    bl.block('peerX', 'stake-too-young', 'confirmed 10 h ago', 72);
    assert.equal(bl.get('peerX')?.reason, 'stake-too-young');
    assert.equal(bl.get('peerX')?.until, now + 72 * 3600_000);
    const again = new Blocklist(db, () => now);
    assert.equal(again.isBlocked('peerX'), true);
    now += 72 * 3600_000;
    assert.equal(again.isBlocked('peerX'), false);
  });
});

describe('clock skew', () => {
  it('median and own offset', () => {
    assert.equal(median([]), 0);
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    // peers are all ~5 s ahead of us: we are 5 s behind
    const s = skewStatus([5000, 5100, 4900, 200], 2000);
    assert.equal(s.ownOffsetMs, -4950);
    assert.equal(s.ok, false);
    assert.equal(skewStatus([100, -50, 30], 2000).ok, true);
    assert.deepEqual(skewStatus([], 2000), { ok: true, ownOffsetMs: 0, peers: 0, maxSkewMs: 2000 });
  });

  it('lateness explained only by a lagging clock of at least that much', () => {
    const offsets = [0, 10, -10, -3000];
    const lag = peerSkew(-3000, offsets);
    assert.equal(lag, -2995);
    assert.equal(latenessExplainedBySkew(lag, 2800), true);
    assert.equal(latenessExplainedBySkew(lag, 4000), false);
    assert.equal(latenessExplainedBySkew(peerSkew(10, offsets), 2000), false);
    assert.equal(latenessExplainedBySkew(0, 0), true);
  });
});
