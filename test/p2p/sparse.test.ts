import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addrOf, identity, makeNode, stakeMap, stopAll, waitFor, type Ident } from './helpers.js';
import type { P2pNetwork } from '../../src/p2p/network.js';
import { requiredConnections } from '../../src/p2p/connections.js';

// 7 nodes, committee 7: f = 2, so each node needs f + 1 = 3 connections. Topology: a ring plus
// chords, node 0 with degree 4 and every other node with degree 3; caps enforce it.
const EDGES: [number, number][] = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [6, 0], [0, 3], [1, 5], [2, 6], [0, 4]];

describe('7 nodes with f+1 connections each (M-of-N)', () => {
  const nodes: P2pNetwork[] = [];
  let ids: Ident[] = [];

  before(async () => {
    ids = await Promise.all([0, 1, 2, 3, 4, 5, 6].map((i) => identity(i)));
    const checker = stakeMap(ids);
    for (let j = 0; j < 7; j++) {
      const boot = EDGES.filter(([a, b]) => b === j && a < j).map(([a]) => addrOf(nodes[a]!))
        .concat(EDGES.filter(([a, b]) => a === j && b < j).map(([, b]) => addrOf(nodes[b]!)));
      const degree = EDGES.filter(([a, b]) => a === j || b === j).length;
      const n = makeNode(ids[j]!, checker, { bootstrap: boot, maxConnections: degree, committeeSize: () => 7 });
      nodes.push(n);
      await n.start();
    }
  });

  after(async () => {
    await stopAll(nodes);
  });

  it('every ping reaches every node through gossip relay', async () => {
    assert.equal(requiredConnections(7), 3);
    await waitFor('every table lists the other six', () => nodes.every((n) => n.peers().length === 6), 60_000);
    for (const [i, n] of nodes.entries()) {
      const conns = n.connectedPeers();
      const degree = EDGES.filter(([a, b]) => a === i || b === i).length;
      assert.ok(conns.length <= degree, `node ${i} has ${conns.length} connections, cap ${degree}`);
      // not a full mesh: some peers in the table are reachable only through relays
      const relayedOnly = n.peers().filter((e) => !conns.includes(e.peerId));
      assert.ok(relayedOnly.length >= 2, `node ${i} should know at least 2 peers it is not connected to`);
    }
    // fresh pings keep arriving from non-neighbours (lastSeen advances)
    const probe = nodes[1]!;
    const far = probe.peers().find((e) => !probe.connectedPeers().includes(e.peerId))!;
    const seen = far.lastSeen;
    await waitFor('a newer ping from a non-neighbour', () => (probe.table.get(far.peerId)?.lastSeen ?? 0) > seen, 5000);
  });

  it('reports f+1 connection status', async () => {
    await waitFor('status ok everywhere', () => nodes.every((n) => n.connectionStatus()?.ok === true), 40_000);
    for (const n of nodes) assert.equal(n.connectionStatus()!.required, 3);
  });
});
