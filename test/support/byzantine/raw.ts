// Arbitrary bytes on a gossip topic, past the envelope, schema and size checks of
// P2pNetwork.publish: what a misbehaving peer puts on the wire with its own libp2p host (the
// chaos harness's garbage, oversized and replay modes). Gossipsub still signs the message with
// the host's identity key, so honest receivers know who sent it.
import type { P2pNetwork } from '../../../src/p2p/network.js';
import { defaultRegistry } from '../../../src/p2p/registry.js';
import { topicName } from '../../../src/p2p/topics.js';

/** Publishes `bytes` on the registered short `topic` through `net`'s libp2p host; resolves with the recipients' count. */
export async function publishRaw(net: Pick<P2pNetwork, 'libp2p'>, network: string, topic: string, bytes: Uint8Array): Promise<number> {
  if (!defaultRegistry.topics().includes(topic)) throw new Error(`topic ${topic} is not registered`);
  const res = await net.libp2p.services.pubsub.publish(topicName(network, topic), bytes);
  return res.recipients.length;
}
