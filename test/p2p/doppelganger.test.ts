// Doppelganger protection: a second instance with the same identity is heard through relays and
// reported; replays of our own pings (this process's, or an earlier process's) are not.
import { after, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { addrOf, identity, makeNode, stakeMap, stopAll, waitFor } from './helpers.js';
import type { P2pNetwork } from '../../src/p2p/network.js';
import { DoppelgangerWatch } from '../../src/p2p/doppelganger.js';
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

describe('DoppelgangerWatch', () => {
  it('a ping with our id, stamped after our start, that we did not send is a doppelganger', () => {
    const w = new DoppelgangerWatch('me', 1_000);
    assert.equal(w.isDoppelganger(ping('me', 1_500)), true);
  });
  it('replayed own ping from this process is refused as evidence', () => {
    const w = new DoppelgangerWatch('me', 1_000);
    w.noteSent(1_500, 1_500);
    assert.equal(w.isDoppelganger(ping('me', 1_500)), false);
  });
  it('replayed ping of an earlier process (before a restart) is refused as evidence', () => {
    const w = new DoppelgangerWatch('me', 1_000);
    assert.equal(w.isDoppelganger(ping('me', 999)), false);
  });
  it("another peer's ping is not ours", () => {
    const w = new DoppelgangerWatch('me', 1_000);
    assert.equal(w.isDoppelganger(ping('other', 2_000)), false);
  });
});

test('a second instance with the same peer id hears the first through relays and reports it, without pinging itself', { timeout: 60_000 }, async () => {
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
  await waitFor('Y admits the first instance (relayed by X)', () => ny.table.has(a!.peerId), 20_000);

  const second = makeNode(a!, checker, { bootstrap: [addrOf(ny)], silent: true });
  nodes.push(second);
  const heard: Array<{ clock: number }> = [];
  second.on('doppelganger', (d) => heard.push(d));
  await second.start();
  assert.equal(second.isPinging, false);
  await waitFor('the second instance hears a ping signed with its own key', () => heard.length > 0, 20_000);
  assert.ok(heard[0]!.clock >= Date.now() - 60_000);
  // Our own identity never enters our own table, and the silent instance sent nothing.
  assert.equal(second.table.has(a!.peerId), false);
  assert.equal(heardByFirst.length, 0);
  // Had the second instance gone on pinging, the first one hears it too (a late doppelganger).
  second.startPinging();
  await waitFor('the first instance hears the second', () => heardByFirst.length > 0, 20_000);
});
