// Misbehaviour on the wire, for tests: a port in front of a node's outbound port
// (StartNodeOptions.outbound) that rewrites or drops its messages in their final form. A round
// message that a rewrite changed is signed again with the node's own share, as a misbehaving
// operator (who holds its share) would: what peers receive is attributable to it, exactly as the
// node itself would have signed that body. Ceremony payloads carry no per-message signature.
import type { Config } from '../../src/config/schema.js';
import type { EpochManager } from '../../src/epochs/manager.js';
import type { MessageAt, OutboundPort } from '../../src/node/outbound.js';
import { isSigningMessageType } from '../../src/rounds/signing/messages.js';
import { signOutgoing } from '../../src/rounds/signing/signed.js';

/**
 * `to`: the recipient of a direct message. Returns the payload to send (the same object: sent
 * unchanged; another: re-signed and sent) or null to drop the message.
 */
export type Rewrite = (type: string, payload: unknown, to: string | undefined, at: MessageAt) => unknown | null;

/** What re-signing needs from the running node. */
export interface Signer {
  config: Pick<Config, 'network'>;
  peerId: string;
  manager: Pick<EpochManager, 'loadShare'>;
}

/** `payload` signed as the node signs its round messages (other types unchanged). */
export async function signAsNode(node: Signer, type: string, payload: unknown, at: MessageAt): Promise<unknown> {
  if (!isSigningMessageType(type)) return payload;
  const share = await node.manager.loadShare(at.epoch);
  return share ? signOutgoing(share, { network: node.config.network, epoch: at.epoch, peerId: node.peerId, round: at.round }, type, payload) : payload;
}

/**
 * `own` with `rewrite()` (read at each message: tests switch it) applied. A changed round message
 * needs `signer()` (known once the node runs) to be re-signed; without it the message is not sent
 * and the send fails. Messages leave in the order they were sent.
 */
export function rewritingOutbound(own: OutboundPort, rewrite: () => Rewrite | undefined, signer: () => Signer | undefined): OutboundPort {
  let queue: Promise<unknown> = Promise.resolve();
  const send = (type: string, payload: unknown, to: string | undefined, at: MessageAt, go: (p: unknown) => Promise<unknown>): Promise<unknown> => {
    const r = rewrite();
    const out = r ? r(type, payload, to, at) : payload;
    // Re-signing is asynchronous (the share is loaded); the queue keeps the sending order.
    const ready = queue.then(() => {
      if (out === null || out === payload) return out;
      const s = signer();
      if (!s) throw new Error(`${type} was rewritten before the node was running: it cannot be re-signed yet`);
      return signAsNode(s, type, out, at);
    });
    queue = ready.catch(() => {});
    return ready.then((p) => (p === null ? undefined : go(p)));
  };
  return {
    publish: (type, payload, at) => send(type, payload, undefined, at, (p) => own.publish(type, p, at)),
    sendDirect: (peerId, type, payload, at) => send(type, payload, peerId, at, (p) => own.sendDirect(peerId, type, p, at)),
  };
}
