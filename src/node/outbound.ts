// The node's outbound messaging port: every protocol message a round or ceremony sends leaves
// through it, in its final form (round messages already signed by the node), as gossip to the
// federation or as a direct message to one peer. The node builds it on its own network
// (networkOutbound); whoever starts the node may put a port of its own in front
// (StartNodeOptions.outbound), e.g. a simulation that carries the messages itself or delays,
// drops or rewrites them. Epoch sync's request/response and pings go through the network directly.
import type { P2pNetwork } from '../p2p/network.js';

/** The (epoch, round) a message is sent for. */
export interface MessageAt {
  epoch: number;
  round: number;
}

export interface OutboundPort {
  /** Gossips (type, payload) to the federation. */
  publish(type: string, payload: unknown, at: MessageAt): Promise<unknown>;
  /** Sends (type, payload) to one peer over a direct stream. */
  sendDirect(peerId: string, type: string, payload: unknown, at: MessageAt): Promise<unknown>;
}

/** The port onto the node's own network. */
export function networkOutbound(network: Pick<P2pNetwork, 'publish' | 'direct'>): OutboundPort {
  return {
    publish: (type, payload, at) => network.publish(type, payload, at),
    sendDirect: (peerId, type, payload, at) => network.direct.request(peerId, type, { epoch: at.epoch, round: at.round, payload }),
  };
}
