// A ChainSource frozen at one tip that knows one block hash per height and pays exactly the
// outputs it is given; counts address reads. For the request-store test and benchmark, which
// measure the node's own work, not a chain's.
import type { ChainSource, Utxo } from '../../src/chain/types.js';

export interface StaticTip {
  height: number;
  hash: string;
  time: number;
}

export function staticChain(tip: StaticTip, utxos: Map<string, Utxo[]>): ChainSource & { reads: number } {
  const header = (height: number) => ({ height, hash: height === tip.height ? tip.hash : height.toString(16).padStart(64, '0'), time: tip.time, prevHash: '00'.repeat(32) });
  const c = {
    kind: 'esplora' as const,
    reads: 0,
    getTip: async () => tip,
    getBlockHeaderByHeight: async (h: number) => header(h),
    getBlockHeader: async () => header(tip.height),
    getTx: async () => null,
    getOutSpend: async () => ({ spent: false }),
    getAddressUtxos: async (address: string) => {
      c.reads++;
      return utxos.get(address) ?? [];
    },
    broadcast: async () => '00'.repeat(32),
    getFeeRate: async () => 2,
  };
  return c;
}
