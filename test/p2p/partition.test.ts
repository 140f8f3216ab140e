// Network controls the chaos harness uses: a partition cuts and refuses connections to chosen
// peers until healed; publishRaw (test/support/byzantine/raw.ts) puts arbitrary bytes on a topic
// through a node's libp2p host (and honest peers reject them with a reason).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionGate } from '../../src/p2p/gater.js';
import type { P2pNetwork } from '../../src/p2p/network.js';
import { publishRaw } from '../support/byzantine/raw.js';
import { addrOf, identity, makeNode, stakeMap, stopAll, waitFor, type Ident } from './helpers.js';

describe('AdmissionGate partition', () => {
  it('refuses, evicts and does not dial partitioned peers, even in grace; [] heals', () => {
    const gate = new AdmissionGate({ graceMs: 60_000, probationMs: 1000, probationCooldownMs: 10_000, isAdmitted: () => true, isBlocked: () => false });
    const g = gate.connectionGater();
    const pid = (s: string) => ({ toString: () => s }) as never;
    assert.equal(gate.allow('b'), true);
    gate.setPartition(['b', 'c']);
    assert.deepEqual(gate.partition(), ['b', 'c']);
    assert.equal(gate.allow('b'), false);
    assert.equal(gate.shouldEvict('c'), true);
    assert.equal(g.denyDialPeer!(pid('b')), true);
    assert.equal(g.denyInboundEncryptedConnection!(pid('c'), undefined as never), true);
    assert.equal(gate.allow('d'), true);
    gate.setPartition([]);
    assert.equal(gate.allow('b'), true);
    assert.equal(gate.shouldEvict('c'), false);
    assert.equal(g.denyDialPeer!(pid('b')), false);
  });
});

describe('AdmissionGate after a member drops out twice', () => {
  it('a peer that proved its stake is let in again each time it drops out; one that never did waits out the cooldown', () => {
    let t = 0;
    const admitted = new Set<string>();
    const g = new AdmissionGate({ graceMs: 1000, probationMs: 100, probationCooldownMs: 10_000, isAdmitted: (p) => admitted.has(p), isBlocked: () => false, now: () => t });
    t = 2_000;
    // First drop-out (a block expired, a restart): a probation window, a valid ping, admitted.
    assert.equal(g.allow('member'), true);
    assert.equal(g.allow('stranger'), true);
    admitted.add('member');
    g.admitted('member');
    // Second drop-out soon after, long before the cooldown would end.
    admitted.delete('member');
    t = 2_500;
    assert.equal(g.allow('member'), true, 'the member gets a new window');
    assert.equal(g.allow('stranger'), false, 'the stranger, never admitted, is refused until the cooldown ends');
    t = 2_700;
    assert.equal(g.allow('member'), true, 'a peer that proved its stake is not held to a window at all');
    assert.equal(g.shouldEvict('member'), false);
  });

  it('outbound connections are refused only for blocked or partitioned peers, never by probation', () => {
    let t = 0;
    const blocked = new Set<string>();
    const g = new AdmissionGate({ graceMs: 1000, probationMs: 100, probationCooldownMs: 10_000, isAdmitted: () => false, isBlocked: (p) => blocked.has(p), now: () => t });
    const gater = g.connectionGater();
    const pid = (s: string) => ({ toString: () => s }) as never;
    t = 5_000;
    assert.equal(g.allow('x'), true);
    t = 5_200;
    assert.equal(gater.denyInboundEncryptedConnection!(pid('x'), undefined as never), true, 'inbound: probation over');
    assert.equal(gater.denyOutboundEncryptedConnection!(pid('x'), undefined as never), false, 'outbound: our own dial');
    assert.equal(gater.denyDialPeer!(pid('x')), false);
    blocked.add('x');
    assert.equal(gater.denyOutboundEncryptedConnection!(pid('x'), undefined as never), true);
    assert.equal(gater.denyDialPeer!(pid('x')), true);
  });
});

describe('P2pNetwork partition and publishRaw', () => {
  let ids: Ident[] = [];
  const nets: P2pNetwork[] = [];
  before(async () => {
    ids = await Promise.all([0, 1].map((i) => identity(i)));
    const checker = stakeMap(ids);
    nets.push(makeNode(ids[0]!, checker, { blockOnViolation: false }));
    await nets[0]!.start();
    nets.push(makeNode(ids[1]!, checker, { bootstrap: [addrOf(nets[0]!)] }));
    await nets[1]!.start();
    await waitFor('both admitted', () => nets[0]!.table.has(ids[1]!.peerId) && nets[1]!.table.has(ids[0]!.peerId), 40_000);
  });
  after(() => stopAll(nets));

  it('publishRaw bytes are rejected by the honest peer with the validator\'s reason', async () => {
    const [a, b] = nets as [P2pNetwork, P2pNetwork];
    const seen: string[] = [];
    a.on('message:rejected', (r) => r.from === b.peerId && seen.push(r.reason));
    await assert.rejects(() => publishRaw(b, 'regtest', 'no-such-topic', new Uint8Array([1])), /topic no-such-topic is not registered/);
    await publishRaw(b, 'regtest', 'ping', new TextEncoder().encode('{"version":'));
    await waitFor('rejection seen', () => seen.length > 0, 20_000);
    assert.deepEqual(seen, ['not-json']);
  });

  it('cuts the connection, refuses redials while partitioned, and reconnects once healed', async () => {
    const [a, b] = nets as [P2pNetwork, P2pNetwork];
    await waitFor('connected', () => a.connectedPeers().includes(b.peerId), 40_000);
    await a.setPartition([b.peerId]);
    assert.deepEqual(a.partition(), [b.peerId]);
    await waitFor('disconnected', () => !a.connectedPeers().includes(b.peerId) && !b.connectedPeers().includes(a.peerId), 20_000);
    // b keeps redialling a (bootstrap, 200 ms base backoff); a's gater refuses every attempt.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.ok(!a.connectedPeers().includes(b.peerId), 'still cut');
    await a.setPartition([]);
    assert.deepEqual(a.partition(), []);
    await waitFor('reconnected', () => a.connectedPeers().includes(b.peerId), 40_000);
  });
});
