import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addrOf, identity, makeNode, stakeMap, stopAll, waitFor, type Ident, type MapStakeChecker } from './helpers.js';
import { openDb, type Db } from '../../src/store/db.js';
import { p2pMigrations } from '../../src/p2p/migrations.js';
import { RequestStore, requestMigrations } from '../../src/custody/requests.js';
import type { P2pNetwork } from '../../src/p2p/network.js';
import { fakeDepositAddressFor, input, wpkhAddress } from '../custody/request-fixtures.js';

const LIMIT = 3;

interface Member {
  id: Ident;
  db: Db;
  store: RequestStore;
  net?: P2pNetwork;
  maxServed: number;
}

function member(id: Ident, depositAddressFor = fakeDepositAddressFor()): Member {
  const db = openDb(':memory:', [...p2pMigrations, ...requestMigrations]);
  const store = new RequestStore({ db, network: 'regtest', depositAddressFor, currentEpoch: () => 0, signer: { peerId: id.peerId, privateKey: id.key } });
  const m: Member = { id, db, store, maxServed: 0 };
  const list = store.list.bind(store);
  store.list = (o) => {
    const r = list(o);
    m.maxServed = Math.max(m.maxServed, r.length);
    return r;
  };
  return m;
}

async function startNet(m: Member, checker: MapStakeChecker, bootstrap: string[]): Promise<P2pNetwork> {
  m.net = makeNode(m.id, checker, { db: m.db, bootstrap, replication: { store: m.store, limit: LIMIT, minDelayMs: 50, maxDelayMs: 150 } });
  await m.net.start();
  return m.net;
}

describe('transfer-request replication over 5 nodes', () => {
  const members: Member[] = [];
  let evil: Member;
  let checker: MapStakeChecker;
  const nets = () => members.map((m) => m.net!).filter(Boolean);

  before(async () => {
    const ids = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => identity(i)));
    checker = stakeMap(ids);
    for (const id of ids.slice(0, 5)) members.push(member(id));
    await startNet(members[0]!, checker, []);
    for (const m of members.slice(1)) await startNet(m, checker, [addrOf(members[0]!.net!)]);
    // a staked node that serves a record no honest store would accept (written straight into its DB)
    evil = member(ids[5]!);
  });

  after(async () => {
    await stopAll([...members.map((m) => m.net!), evil.net!].filter(Boolean));
  });

  it('records appended at different nodes converge on all five; no reply exceeds the limit', async () => {
    await waitFor('peers admitted', () => nets().every((n) => n.peers().length === 4), 40_000);
    for (const [i, m] of members.entries()) for (let k = 0; k < 4; k++) await m.store.create(input(i * 10 + k));
    await waitFor('20 records everywhere', () => members.every((m) => m.store.count() === 20), 60_000);
    const ids = members[0]!.store.olderThan(Date.now() + 1).map((r) => r.id);
    for (const m of members) assert.deepEqual(m.store.olderThan(Date.now() + 1).map((r) => r.id), ids);
    for (const m of members) assert.ok(m.maxServed <= LIMIT, `served ${m.maxServed} > ${LIMIT}`);
    assert.ok(members.some((m) => m.maxServed === LIMIT), 'pages were full at least once');
  });

  it('a node that was offline catches up after restart', async () => {
    const late = members[4]!;
    await late.net!.stop();
    for (const m of members.slice(0, 4)) for (let k = 0; k < 2; k++) await m.store.create(input(100 + members.indexOf(m) * 10 + k));
    await waitFor('28 records on the four online nodes', () => members.slice(0, 4).every((m) => m.store.count() === 28), 60_000);
    assert.equal(late.store.count(), 20);
    await startNet(late, checker, [addrOf(members[0]!.net!)]);
    await waitFor('restarted node caught up', () => late.store.count() === 28, 60_000);
    assert.ok(late.maxServed <= LIMIT);
  });

  it('an invalid record is stored nowhere and the peer serving it is blocklisted', async () => {
    const forgerDb = openDb(':memory:', requestMigrations);
    const forger = new RequestStore({
      db: forgerDb, network: 'regtest', depositAddressFor: (id) => wpkhAddress(`evil-${id}`), currentEpoch: () => 0,
      signer: { peerId: evil.id.peerId, privateKey: evil.id.key },
    });
    const bad = await forger.create(input(999));
    const row = forgerDb.prepare('SELECT id, record, created_ts, created_idx, local_ts, local_idx FROM transfer_requests').get();
    evil.db.prepare('INSERT INTO transfer_requests (id, record, created_ts, created_idx, local_ts, local_idx) VALUES (@id, @record, @created_ts, @created_idx, @local_ts, @local_idx)').run(row);
    assert.equal(evil.store.count(), 1);
    await startNet(evil, checker, members.map((m) => addrOf(m.net!)));
    await waitFor('every honest node blocklisted the evil server', () => members.every((m) => m.net!.blocklist.get(evil.id.peerId)?.reason === 'replication-invalid-record'), 60_000);
    for (const m of members) {
      assert.equal(m.store.get(bad.id), undefined);
      assert.equal(m.store.count(), 28);
      assert.match(m.net!.blocklist.get(evil.id.peerId)!.detail, /bad-deposit-address/);
    }
  });
});
