// Topic and protocol names are namespaced by network so that a regtest node can never mix
// messages with a mainnet node even if they share an address space.
import type { Network } from '../chain/types.js';

export function topicName(network: Network | string, topic: string): string {
  return `/metanode/${network}/${topic}/1`;
}

export function directProtocol(network: Network | string): string {
  return `/metanode/${network}/direct/1`;
}
