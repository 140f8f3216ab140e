// Bounded retries with exponential backoff and jitter for transient chain failures
// (CHAIN_UNAVAILABLE only: a malformed answer or a rejected transaction is never retried).
import { isMetanodeError } from '../util/errors.js';
import type { BlockHeader, ChainSource, OutSpend, Tip, Tx, Utxo, WatchRequest } from './types.js';

export interface RetryOptions {
  /** Total attempts including the first (default 4). */
  attempts?: number;
  baseDelayMs?: number; // default 250
  maxDelayMs?: number; // default 4000
  isTransient?: (e: unknown) => boolean;
  sleep?: (ms: number) => Promise<void>;
}

export function isTransientChainError(e: unknown): boolean {
  return isMetanodeError(e, 'CHAIN_UNAVAILABLE');
}

export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? 4);
  const base = opts.baseDelayMs ?? 250;
  const max = opts.maxDelayMs ?? 4000;
  const transient = opts.isTransient ?? isTransientChainError;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts || !transient(e)) throw e;
      const delay = Math.min(max, base * 2 ** (i - 1));
      await sleep(delay / 2 + Math.random() * (delay / 2));
    }
  }
}

/** Any ChainSource with every call retried on transient failure. */
export class RetryingChainSource implements ChainSource {
  readonly kind: ChainSource['kind'];
  readonly ready?: () => Promise<void>;
  readonly watchAddresses?: (list: WatchRequest[]) => Promise<void>;
  constructor(private readonly inner: ChainSource, private readonly opts: RetryOptions = {}) {
    this.kind = inner.kind;
    // Start checks are not retried: a refusal is the answer, an unreachable source fails the start.
    if (inner.ready) this.ready = () => inner.ready!();
    if (inner.watchAddresses) this.watchAddresses = (list) => withRetry(() => inner.watchAddresses!(list), this.opts);
  }
  getTip(): Promise<Tip> {
    return withRetry(() => this.inner.getTip(), this.opts);
  }
  getBlockHeaderByHeight(height: number): Promise<BlockHeader> {
    return withRetry(() => this.inner.getBlockHeaderByHeight(height), this.opts);
  }
  getBlockHeader(hash: string): Promise<BlockHeader> {
    return withRetry(() => this.inner.getBlockHeader(hash), this.opts);
  }
  getTx(txid: string, hint?: { unspentVout?: number }): Promise<Tx | null> {
    return withRetry(() => this.inner.getTx(txid, hint), this.opts);
  }
  getOutSpend(txid: string, vout: number): Promise<OutSpend> {
    return withRetry(() => this.inner.getOutSpend(txid, vout), this.opts);
  }
  getAddressUtxos(address: string): Promise<Utxo[]> {
    return withRetry(() => this.inner.getAddressUtxos(address), this.opts);
  }
  broadcast(txHex: string): Promise<string> {
    return withRetry(() => this.inner.broadcast(txHex), this.opts);
  }
  getFeeRate(targetBlocks?: number): Promise<number> {
    return withRetry(() => this.inner.getFeeRate(targetBlocks), this.opts);
  }
}
