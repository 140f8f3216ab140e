import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addrOf, identity, makeNode, stakeMap, stopAll, waitFor, type Ident } from './helpers.js';
import { createHost, type P2pHost } from '../../src/p2p/host.js';
import { encodeEnvelope, PROTOCOL_VERSION } from '../../src/p2p/envelope.js';
import { topicName } from '../../src/p2p/topics.js';
import { counterValue } from '../../src/p2p/metrics.js';
import type { P2pNetwork } from '../../src/p2p/network.js';
import { multiaddr } from '@multiformats/multiaddr';

const TOPIC = topicName('regtest', 'ping');

async function rawPeer(id: Ident, target: P2pNetwork): Promise<P2pHost> {
  const h = await createHost({ privateKey: id.key, listen: ['/ip4/127.0.0.1/tcp/0'], heartbeatMs: 300 });
  await h.start();
  h.services.pubsub.subscribe(TOPIC);
  await h.dial(multiaddr(addrOf(target)));
  await waitFor('target subscribed as seen by raw peer', () => h.services.pubsub.getSubscribers(TOPIC).some((p) => p.toString() === target.peerId), 5000);
  return h;
}

function ping(id: Ident, over: Record<string, unknown> = {}, payloadOver: Record<string, unknown> = {}) {
  return {
    version: PROTOCOL_VERSION, network: 'regtest', epoch: 0, round: Math.floor(Date.now() / 60_000), type: 'ping', from: id.peerId,
    payload: { status: 'ok', state: 'idle', stake: id.stake, clock: Date.now(), tip: 1, ...payloadOver },
    ...over,
  };
}
const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));

describe('hostile messages', () => {
  const nets: P2pNetwork[] = [];
  const raws: P2pHost[] = [];
  let ids: Ident[] = [];

  before(async () => {
    ids = await Promise.all([0, 1, 2, 3].map((i) => identity(i)));
    const checker = stakeMap(ids);
    // ids[0]: target that does not blocklist (so every case is judged on its own);
    // ids[1]: honest peer; ids[2], ids[3]: raw hostile hosts (with valid stake, so only the message is at fault)
    nets.push(makeNode(ids[0]!, checker, { blockOnViolation: false }));
    await nets[0]!.start();
    nets.push(makeNode(ids[1]!, checker, { bootstrap: [addrOf(nets[0]!)] }));
    await nets[1]!.start();
  });

  after(async () => {
    await stopAll([...nets, ...raws]);
  });

  it('rejects malformed, oversized, wrong-network, forged-sender and replayed messages with reasons, and keeps running', async () => {
    const target = nets[0]!;
    const evil = await rawPeer(ids[2]!, target);
    raws.push(evil);
    const ps = evil.services.pubsub;
    const valid = enc(ping(ids[2]!));
    await ps.publish(TOPIC, valid);
    await waitFor('valid ping from raw peer admitted', () => target.table.has(ids[2]!.peerId), 5000);

    await ps.publish(TOPIC, new TextEncoder().encode('{"version":1,'));
    await ps.publish(TOPIC, enc(ping(ids[2]!, {}, { pad: 'x'.repeat(3000) })));
    await ps.publish(TOPIC, enc(ping(ids[2]!, { network: 'mainnet' })));
    await ps.publish(TOPIC, enc(ping(ids[2]!, { from: ids[1]!.peerId })));
    await ps.publish(TOPIC, enc(ping(ids[2]!, {}, { state: 'plotting' })));
    await ps.publish(TOPIC, valid); // same bytes again, new gossipsub seqno: a replay

    const m = target.metrics.messagesRejected;
    const expect: [string, string][] = [['unknown', 'not-json'], ['unknown', 'oversized'], ['ping', 'wrong-network'], ['ping', 'from-mismatch'], ['ping', 'bad-payload'], ['ping', 'replay']];
    await waitFor('all rejections counted', async () => {
      for (const [type, reason] of expect) if ((await counterValue(m, { type, reason })) < 1) return false;
      return true;
    }, 5000);
    for (const [type, reason] of expect) assert.equal(await counterValue(m, { type, reason }), 1, `${type}/${reason}`);
    assert.equal(await counterValue(target.metrics.messagesAccepted, { type: 'ping' }) >= 1, true);
    // rejected messages lowered the raw peer's gossipsub score at the target
    const stats = target.libp2p.services.pubsub.dumpPeerScoreStats()[ids[2]!.peerId];
    assert.ok((stats?.topics[TOPIC]?.invalidMessageDeliveries ?? 0) > 0, 'invalid deliveries should count against the sender');

    // the target is still running and still admits the honest peer's fresh pings
    const before = target.table.get(ids[1]!.peerId)?.lastSeen ?? 0;
    await waitFor('honest ping still processed', () => (target.table.get(ids[1]!.peerId)?.lastSeen ?? 0) > before, 5000);
  });

  it('blocklists the author of a protocol violation and refuses its reconnection', async () => {
    const target = nets[1]!; // default blockOnViolation
    const evil = await rawPeer(ids[3]!, target);
    raws.push(evil);
    await evil.services.pubsub.publish(TOPIC, enc(ping(ids[3]!, { from: ids[0]!.peerId })));
    await waitFor('author blocklisted', () => target.blocklist.isBlocked(ids[3]!.peerId), 5000);
    assert.equal(target.blocklist.get(ids[3]!.peerId)?.reason, 'message-from-mismatch');
    await waitFor('connection closed', () => !target.connectedPeers().includes(ids[3]!.peerId), 5000);
    // a fresh dial is refused by the gater: the connection never stays up on either side
    await evil.dial(multiaddr(addrOf(target))).catch(() => undefined);
    await waitFor('evil cannot hold a connection', () => evil.getConnections().every((c) => c.remotePeer.toString() !== target.peerId) && !target.connectedPeers().includes(ids[3]!.peerId), 5000);
  });
});
