// A ChainSource in front of a real one (the devchain over HTTP) that counts what the deposit
// watcher asks, tracks how many address reads are in flight at once, and can make the source
// "forget" a transaction the way a node evicting it from its mempool would, or fail one read.
import type { ChainSource } from '../../src/chain/types.js';

export interface CountingChain extends ChainSource {
  /** Calls per method since the last reset(). */
  calls: Record<string, number>;
  /** Addresses read, in the order the reads started. */
  addressReads: string[];
  /** Most address reads in flight at once since the last reset(). */
  maxInFlight: number;
  /** Transactions the source answers as unknown (evicted from its mempool). */
  evicted: Set<string>;
  /** Transactions the address index leaves out although the source knows them (index lag). */
  unindexed: Set<string>;
  /** Addresses whose next read fails (once each). */
  failNext: Set<string>;
  /** Whether the next getOutSpend fails (once). */
  failOutSpend: boolean;
  /** Delay (ms) before an address read is forwarded; lets a test reorder completions. */
  delayFor: (address: string) => number;
  reset(): void;
}

export function countingChain(inner: ChainSource): CountingChain {
  let inFlight = 0;
  const c: CountingChain = {
    kind: inner.kind,
    calls: {},
    addressReads: [],
    maxInFlight: 0,
    evicted: new Set(),
    unindexed: new Set(),
    failNext: new Set(),
    failOutSpend: false,
    delayFor: () => 0,
    reset() {
      c.calls = {};
      c.addressReads = [];
      c.maxInFlight = 0;
    },
    getTip: () => count('getTip', () => inner.getTip()),
    getBlockHeaderByHeight: (h) => count('getBlockHeaderByHeight', () => inner.getBlockHeaderByHeight(h)),
    getBlockHeader: (hash) => count('getBlockHeader', () => inner.getBlockHeader(hash)),
    getTx: (txid) => count('getTx', async () => (c.evicted.has(txid) ? null : inner.getTx(txid))),
    getOutSpend: (txid, vout) =>
      count('getOutSpend', async () => {
        if (c.failOutSpend) {
          c.failOutSpend = false;
          throw new Error(`injected failure asking who spends ${txid}:${vout}`);
        }
        return inner.getOutSpend(txid, vout);
      }),
    getAddressUtxos: (address) =>
      count('getAddressUtxos', async () => {
        c.addressReads.push(address);
        inFlight++;
        c.maxInFlight = Math.max(c.maxInFlight, inFlight);
        try {
          const ms = c.delayFor(address);
          if (ms > 0) await new Promise((r) => setTimeout(r, ms));
          if (c.failNext.delete(address)) throw new Error(`injected failure reading ${address}`);
          const utxos = await inner.getAddressUtxos(address);
          return utxos.filter((u) => !c.evicted.has(u.txid) && !c.unindexed.has(u.txid));
        } finally {
          inFlight--;
        }
      }),
    broadcast: (hex) => count('broadcast', () => inner.broadcast(hex)),
    // A wallet-backed source is told about addresses before they are read (not counted: the
    // tests count reads, and importing is the adapter's own business).
    ...(inner.watchAddresses ? { watchAddresses: (list: Parameters<NonNullable<ChainSource['watchAddresses']>>[0]) => inner.watchAddresses!(list) } : {}),
    getFeeRate: (t) => count('getFeeRate', () => inner.getFeeRate(t)),
  };
  const count = <T>(name: string, f: () => Promise<T>): Promise<T> => {
    c.calls[name] = (c.calls[name] ?? 0) + 1;
    return f();
  };
  return c;
}
