// One place that turns the `chain` section of the config into a ChainSource, wrapped in bounded
// retries. The devchain speaks Esplora (kind 'devchain') and Bitcoin Core's JSON-RPC (kind
// 'bitcoind' pointed at it), so it is read through the same adapters as a public Esplora or a bitcoind.
import { MetanodeError } from '../util/errors.js';
import { BitcoindChainSource, type BitcoindOptions } from './bitcoind.js';
import { EsploraChainSource } from './esplora.js';
import { RetryingChainSource, type RetryOptions } from './retry.js';
import type { ChainSource, Network } from './types.js';

export type ChainConfig =
  | { kind: 'esplora'; url: string; network: Network; timeoutMs?: number }
  | { kind: 'devchain'; url: string; network: 'regtest'; timeoutMs?: number }
  | ({ kind: 'bitcoind' } & BitcoindOptions);

export function createChainSource(cfg: ChainConfig, retry: RetryOptions = {}): ChainSource {
  let inner: ChainSource;
  switch (cfg.kind) {
    case 'esplora':
    case 'devchain':
      if (cfg.kind === 'devchain' && cfg.network !== 'regtest') throw new MetanodeError('INVALID_CONFIG', 'devchain is regtest only');
      inner = new EsploraChainSource({ baseUrl: cfg.url, network: cfg.network, timeoutMs: cfg.timeoutMs });
      break;
    case 'bitcoind':
      inner = new BitcoindChainSource(cfg);
      break;
    default:
      throw new MetanodeError('INVALID_CONFIG', `unknown chain kind ${JSON.stringify((cfg as { kind: unknown }).kind)}`);
  }
  return new RetryingChainSource(inner, retry);
}
