// Issue 16: gossip from a sender outside the staked table is dropped before relay. Three nodes in
// a line, A - B - C: S (staked) and U (unstaked) connect to A only; what they publish can reach C
// only through A's and B's relays. S's note arrives at C (the control: the path relays); U's
// never does, and A counts it ignored as `unstaked-sender`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { addrOf, identity, makeNode, stakeMap, stopAll, waitFor, type Ident } from './helpers.js';
import { counterValue } from '../../src/p2p/metrics.js';
import { MessageRegistry } from '../../src/p2p/registry.js';
import { checkPing, pingPayloadSchema, PING_MAX_BYTES, type PingPayload } from '../../src/p2p/messages/ping.js';
import type { P2pNetwork } from '../../src/p2p/network.js';
import { createHost, type P2pHost } from '../../src/p2p/host.js';
import { encodeEnvelope, PROTOCOL_VERSION } from '../../src/p2p/envelope.js';
import { topicName } from '../../src/p2p/topics.js';
import { multiaddr } from '@multiformats/multiaddr';

const NOTES = topicName('regtest', 'notes');

function registry(): MessageRegistry {
  const r = new MessageRegistry();
  r.register<PingPayload>('ping', { schema: pingPayloadSchema, maxBytes: PING_MAX_BYTES, topic: 'ping', check: checkPing });
  r.register('note', { schema: z.object({ text: z.string().max(50) }).strict(), maxBytes: 400, topic: 'notes', freshness: { maxRoundsBehind: 5, maxRoundsAhead: 5 } });
  return r;
}

describe('unstaked gossip', () => {
  const nodes: P2pNetwork[] = [];
  let ids: Ident[] = [];
  let unstaked: Ident;

  before(async () => {
    ids = await Promise.all([0, 1, 2, 3].map((i) => identity(i)));
    unstaked = await identity(9, { valid: false, reason: 'not-found', detail: 'no such stake' });
    const checker = stakeMap([...ids, unstaked]);
    // No bootstrap grace: admission rules apply from the start. A long probation keeps U
    // connected to A for the whole test, so its messages do reach A (and would be relayed).
    const opts = { registry: registry(), graceMs: 0, probationMs: 120_000 };
    const a = makeNode(ids[0]!, checker, opts);
    await a.start();
    const b = makeNode(ids[1]!, checker, { ...opts, bootstrap: [addrOf(a)] });
    await b.start();
    const c = makeNode(ids[2]!, checker, { ...opts, bootstrap: [addrOf(b)] });
    await c.start();
    nodes.push(a, b, c);
    await waitFor('A, B, C admitted each other', () => a.table.has(ids[1]!.peerId) && b.table.has(ids[2]!.peerId) && c.table.has(ids[0]!.peerId), 60_000);
    const s = makeNode(ids[3]!, checker, { ...opts, bootstrap: [addrOf(a)] });
    await s.start();
    nodes.push(s);
    await waitFor('S admitted at C (its pings relayed)', () => c.table.has(ids[3]!.peerId), 60_000);
    // U: a bare libp2p host with no stake that never pings (a ping without a stake gets it
    // blocked at once); it only publishes notes, signed by its own key (StrictSign).
    u = await createHost({ privateKey: unstaked.key, listen: ['/ip4/127.0.0.1/tcp/0'], heartbeatMs: 300 });
    await u.start();
    u.services.pubsub.subscribe(NOTES);
    await u.dial(multiaddr(addrOf(a)));
    await waitFor('A in U\'s notes mesh', () => u.services.pubsub.getSubscribers(NOTES).some((p) => p.toString() === a.peerId), 40_000);
  });
  let u: P2pHost;

  after(async () => {
    await stopAll([...nodes, u]);
  });

  it("an unstaked peer's gossip is dropped at the first hop and not relayed; a staked peer's is", async () => {
    const [a, , c, s] = nodes as [P2pNetwork, P2pNetwork, P2pNetwork, P2pNetwork];
    const note = (text: string) =>
      encodeEnvelope({ version: PROTOCOL_VERSION, network: 'regtest', epoch: 0, round: Math.floor(Date.now() / 60_000), type: 'note', from: unstaked.peerId, payload: { text } });
    const publishU = (text: string) => u.services.pubsub.publish(NOTES, note(text)).catch(() => undefined);
    const atC: string[] = [];
    c.subscribe<{ text: string }>('note', (env) => void atC.push(`${env.from}:${env.payload.text}`));
    assert.ok(a.connectedPeers().includes(unstaked.peerId), 'U is connected to A (on probation)');
    // U and S publish until C has S's note (gossip meshes form over a few heartbeats).
    let n = 0;
    await waitFor(
      "S's note relayed to C",
      async () => {
        n++;
        await publishU(`from-u-${n}`);
        await s.publish('note', { text: `from-s-${n}` }).catch(() => 0);
        return atC.some((x) => x.startsWith(`${ids[3]!.peerId}:`));
      },
      20_000,
      300,
    );
    // (type 'note' while U is on probation at A, 'unknown' afterwards: an outsider is dropped unparsed)
    const ignoredAtA = async () =>
      (await counterValue(a.metrics.messagesIgnored, { type: 'note', reason: 'unstaked-sender' })) + (await counterValue(a.metrics.messagesIgnored, { type: 'unknown', reason: 'unstaked-sender' }));
    await waitFor('A ignored U as unstaked', async () => (await ignoredAtA()) >= 1, 40_000);
    // Give any relay of U's notes the time S's needed, then check none came through.
    await publishU('last');
    await s.publish('note', { text: 'last' });
    await waitFor("S's last note at C", () => atC.includes(`${ids[3]!.peerId}:last`), 40_000);
    assert.deepEqual(atC.filter((x) => x.startsWith(`${unstaked.peerId}:`)), []);
    assert.equal(a.table.has(unstaked.peerId), false);
    assert.equal(c.table.has(unstaked.peerId), false);
  });
});
