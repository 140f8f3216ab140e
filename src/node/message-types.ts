// Every message a node speaks, registered the way startNode registers them, so tools that judge
// messages outside a running node (the fuzzer) use exactly the node's registrations.
import '../p2p/messages/ping.js';
import { defaultRegistry, registerMessageType, type MessageRegistry } from '../p2p/registry.js';
import type { DirectKindSpec } from '../p2p/direct.js';
import { pullDirectSpec, PULL_KIND } from '../p2p/replication.js';
import { EPOCH_SYNC_KIND, epochSyncDirectSpecs } from '../epochs/sync.js';
import { registerSigningMessageTypes } from '../rounds/signing/messages.js';
import { ceremonyDirectSpecs, registerCeremonyMessageTypes } from './ceremony-runner.js';

/** Gossip types into the process-wide registry (idempotent); returns it. */
export function registerNodeMessageTypes(): MessageRegistry {
  // A sweep round of an earlier epoch carries that epoch in its envelopes; let it through.
  registerSigningMessageTypes((type, spec) => registerMessageType(type, { ...spec, freshness: { ...spec.freshness, maxEpochsBehind: 64 } }));
  registerCeremonyMessageTypes();
  return defaultRegistry;
}

/** Direct kinds with their schemas and limits; handlers answer nothing (judging only). */
export function nodeDirectKinds(): Map<string, DirectKindSpec<any, any>> {
  const none = () => {
    throw new Error('judging only');
  };
  const kinds = new Map<string, DirectKindSpec<any, any>>();
  for (const [kind, spec] of Object.entries(ceremonyDirectSpecs())) kinds.set(kind, { ...spec, handler: none });
  kinds.set(EPOCH_SYNC_KIND, { ...epochSyncDirectSpecs[EPOCH_SYNC_KIND], handler: none });
  kinds.set(PULL_KIND, { ...pullDirectSpec, handler: none });
  return kinds;
}
