// Doppelganger protection: a second instance with the same identity is heard through relays and
// reported; replays of our own pings (this process's, or an earlier process's) are not.
import { after, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { addrOf, identity, makeNode, stakeMap, stopAll, waitFor, type Ident } from './helpers.js';
import type { P2pNetwork } from '../../src/p2p/network.js';
import { DoppelgangerWatch, dbOwnPingStore } from '../../src/p2p/doppelganger.js';
import { openDb } from '../../src/store/db.js';
import { p2pMigrations } from '../../src/p2p/migrations.js';
import type { Envelope } from '../../src/p2p/envelope.js';
import type { PingPayload } from '../../src/p2p/messages/ping.js';

const ping = (from: string, clock: number): Envelope<PingPayload> => ({
  version: 1,
  network: 'regtest',
  epoch: 0,
  round: 1,
  type: 'ping',
  from,
  payload: { status: 'ok', state: 'idle', stake: `${'ab'.repeat(32)}:0`, clock, tip: 0 },
});

const memStore = (last: number | null = null) => {
  let v = last;
  return { lastSent: () => v, recordSent: (c: number) => void (v = Math.max(v ?? -1, c)) };
};

describe('DoppelgangerWatch', () => {
  it('a ping with our id, newer than anything an earlier process sent, that we did not send is a doppelganger', () => {
    const w = new DoppelgangerWatch('me', memStore(1_000));
    assert.equal(w.isDoppelganger(ping('me', 1_500)), true);
  });
  it('replayed own ping from this process is refused as evidence', () => {
    const w = new DoppelgangerWatch('me', memStore(1_000));
    w.noteSent(1_500, 1_500);
    assert.equal(w.isDoppelganger(ping('me', 1_500)), false);
  });
  it('replayed ping of an earlier process (before a restart) is refused as evidence', () => {
    const w = new DoppelgangerWatch('me', memStore(1_000));
    assert.equal(w.isDoppelganger(ping('me', 999)), false);
    assert.equal(w.isDoppelganger(ping('me', 1_000)), false);
  });
  it("another peer's ping is not ours", () => {
    const w = new DoppelgangerWatch('me', memStore(1_000));
    assert.equal(w.isDoppelganger(ping('other', 2_000)), false);
  });
  it('the last sent clock survives a restart in the database (written before the ping goes out), so a replay of the killed process is no doppelganger', () => {
    const db = openDb(':memory:', p2pMigrations);
    const first = new DoppelgangerWatch('me', dbOwnPingStore(db));
    assert.equal(first.isDoppelganger(ping('me', 5)), true, 'a fresh data directory: any ping of ours we did not send');
    first.noteSent(2_000, 2_000);
    first.noteSent(1_900, 2_001); // a clock stepped back never lowers the bound
    const restarted = new DoppelgangerWatch('me', dbOwnPingStore(db));
    assert.equal(restarted.isDoppelganger(ping('me', 2_000)), false);
    assert.equal(restarted.isDoppelganger(ping('me', 2_001)), true);
    db.close();
  });
});

test('a second instance with the same peer id hears the first through relays and reports it, without pinging itself', { timeout: 180_000 }, async () => {
  const [x, y, a] = await Promise.all([identity(0), identity(1), identity(2)]);
  const checker = stakeMap([x!, y!, a!]);
  const nodes: P2pNetwork[] = [];
  after(() => stopAll(nodes));
  const nx = makeNode(x!, checker);
  nodes.push(nx);
  await nx.start();
  const first = makeNode(a!, checker, { bootstrap: [addrOf(nx)] });
  nodes.push(first);
  const heardByFirst: unknown[] = [];
  first.on('doppelganger', (d) => heardByFirst.push(d));
  await first.start();
  const ny = makeNode(y!, checker, { bootstrap: [addrOf(nx)] });
  nodes.push(ny);
  await ny.start();
  await waitFor('Y admits the first instance (relayed by X)', () => ny.table.has(a!.peerId), 60_000);

  const second = makeNode(a!, checker, { bootstrap: [addrOf(ny)], silent: true });
  nodes.push(second);
  const heard: Array<{ clock: number }> = [];
  second.on('doppelganger', (d) => heard.push(d));
  await second.start();
  assert.equal(second.isPinging, false);
  await waitFor('the second instance hears a ping signed with its own key', () => heard.length > 0, 60_000);
  assert.ok(heard[0]!.clock >= Date.now() - 60_000);
  // Our own identity never enters our own table, and the silent instance sent nothing.
  assert.equal(second.table.has(a!.peerId), false);
  assert.equal(heardByFirst.length, 0);
  // Had the second instance gone on pinging, the first one hears it too (a late doppelganger).
  second.startPinging();
  await waitFor('the first instance hears the second', () => heardByFirst.length > 0, 60_000);
});

/** Relay X and a node A that X has admitted; both stopped after the test. */
async function relayAndNode(): Promise<{ x: Ident; a: Ident; nx: P2pNetwork; first: P2pNetwork; checker: ReturnType<typeof stakeMap>; nodes: P2pNetwork[] }> {
  const [x, a] = await Promise.all([identity(0), identity(2)]);
  const checker = stakeMap([x!, a!]);
  const nodes: P2pNetwork[] = [];
  after(() => stopAll(nodes));
  const nx = makeNode(x!, checker);
  nodes.push(nx);
  await nx.start();
  const first = makeNode(a!, checker, { bootstrap: [addrOf(nx)] });
  nodes.push(first);
  await first.start();
  await waitFor('X admits A', () => nx.table.has(a!.peerId), 60_000);
  return { x: x!, a: a!, nx, first, checker, nodes };
}

// In a full mesh every peer is connected to both instances: gossipsub sends a ping to none of
// them (never back to its author's peer id), so only the peers' mirrors reveal the other one.
test('full mesh: a second instance connected only to peers of the first learns of it from the ping the peers hand back', { timeout: 180_000 }, async () => {
  const { x, a, nx, checker, nodes } = await relayAndNode();
  const second = makeNode(a, checker, { bootstrap: [addrOf(nx)], silent: true });
  nodes.push(second);
  const heard: Array<{ clock: number; via: string }> = [];
  second.on('doppelganger', (d) => heard.push(d));
  await second.start();
  await waitFor('the second instance is connected to X', () => second.connectedPeers().includes(x.peerId), 60_000);
  let r: Awaited<ReturnType<P2pNetwork['askPingMirrors']>> | undefined;
  await waitFor('X hands back a ping of the first instance', async () => (r = await second.askPingMirrors()).doppelganger, 60_000, 300);
  assert.deepEqual(r, { asked: 1, answered: 1, doppelganger: true });
  assert.equal(heard.length, 1);
  assert.equal(heard[0]!.via, x.peerId);
  assert.equal(second.isPinging, false);
});

test('a replay of our own ping handed back by a peer is no doppelganger: the instance that sent it asks and goes on', { timeout: 180_000 }, async () => {
  const { first } = await relayAndNode();
  const heard: unknown[] = [];
  first.on('doppelganger', (d) => heard.push(d));
  assert.deepEqual(await first.askPingMirrors(), { asked: 1, answered: 1, doppelganger: false });
  assert.equal(heard.length, 0);
});
