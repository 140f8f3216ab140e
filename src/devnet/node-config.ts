// The config file of each process node: the base (config/devnet.yaml or the caller's), the
// caller's overrides, this node's wiring (ports, data dir, stake, bootstrap list, keygen_until),
// then the caller's per-node section. The node validates the result when it starts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { ROOT } from './proc-node.js';

export type ConfigObject = Record<string, unknown>;

const isPlain = (v: unknown): v is ConfigObject => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/** Objects merge key by key; anything else (arrays included) in `over` replaces what is in `base`. */
export function deepMerge(base: ConfigObject, over: ConfigObject | undefined): ConfigObject {
  const out: ConfigObject = { ...base };
  for (const [k, v] of Object.entries(over ?? {})) {
    if (v === undefined) continue;
    out[k] = isPlain(v) && isPlain(out[k]) ? deepMerge(out[k] as ConfigObject, v) : structuredClone(v);
  }
  return out;
}

/** The base config: a YAML/JSON file path, an object, or config/devnet.yaml. */
export function loadBaseConfig(base: string | ConfigObject | undefined): ConfigObject {
  if (isPlain(base)) return structuredClone(base);
  const file = base ?? join(ROOT, 'config', 'devnet.yaml');
  let parsed: unknown;
  try {
    parsed = YAML.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`base config ${file}: ${(e as Error).message}`);
  }
  if (!isPlain(parsed)) throw new Error(`base config ${file}: expected a mapping at the top level`);
  return parsed;
}

export interface NodeWiring {
  dir: string;
  p2pPort: number;
  httpPort: number;
  stake: { txid: string; vout: number };
  /** Multiaddrs of every other node, /p2p/<peer id> included. */
  bootstrap: string[];
  /** The node's chain section: the devchain's Esplora API, or its Bitcoin Core JSON-RPC. */
  chain: { source: 'esplora'; esploraUrl: string } | { source: 'bitcoind'; bitcoind: { url: string; cookieFile: string; wallet: string } };
  keygenUntil: Date;
}

export function nodeConfig(base: ConfigObject, overrides: ConfigObject | undefined, w: NodeWiring, perNode: ConfigObject | undefined): ConfigObject {
  const wiring: ConfigObject = {
    dataDir: w.dir,
    keystore: { dir: join(w.dir, 'keys'), passphraseEnv: 'METANODE_PASSPHRASE' },
    chain: w.chain,
    stake: { txid: w.stake.txid, vout: w.stake.vout },
    p2p: { listen: [`/ip4/127.0.0.1/tcp/${w.p2pPort}`], bootstrap: w.bootstrap },
    http: { host: '127.0.0.1', port: w.httpPort },
    schedule: { keygenUntil: w.keygenUntil.toISOString() },
  };
  const cfg = deepMerge(deepMerge(base, overrides), wiring);
  // The passphrase comes from METANODE_PASSPHRASE; a base passphraseFile would conflict with it.
  delete (cfg.keystore as ConfigObject).passphraseFile;
  return deepMerge(cfg, perNode);
}
