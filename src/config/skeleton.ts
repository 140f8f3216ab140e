// The config file `metanode init` writes when there is none: the keys an operator must look at,
// with what they mean, and everything else left to the defaults (config/*.example.yaml lists them).
import type { Network } from './schema.js';

export interface SkeletonOptions {
  network: Network;
  /** Absolute data directory. */
  dataDir: string;
  passphraseFile?: string;
}

const RPC_PORT: Record<Network, number> = { mainnet: 8332, testnet: 18332, signet: 38332, regtest: 18443 };

function chainSection(network: Network): string {
  if (network === 'regtest')
    return [
      'chain:',
      '  # A regtest federation: the devchain (`metanode devchain`) or any Esplora REST API.',
      '  source: esplora',
      '  esploraUrl: http://127.0.0.1:3002',
    ].join('\n');
  return [
    'chain:',
    '  # Bitcoin Core JSON-RPC (or source: esplora with esploraUrl: https://...).',
    '  source: bitcoind',
    '  bitcoind:',
    `    url: http://127.0.0.1:${RPC_PORT[network]}`,
    '    # Either cookieFile, or user and password (METANODE_CHAIN_BITCOIND_PASSWORD keeps it out of this file).',
    `    cookieFile: /var/lib/bitcoind/${network === 'mainnet' ? '' : `${network === 'testnet' ? 'testnet3' : network}/`}.cookie`,
  ].join('\n');
}

/** YAML text of a fresh, valid config. */
export function configSkeleton(o: SkeletonOptions): string {
  const q = (s: string) => JSON.stringify(s);
  return `# metanode configuration, written by \`metanode init\`. Every key not set here has a default;
# config/metanode.example.yaml (mainnet) and config/regtest.example.yaml list and explain all of
# them. Unknown keys are refused at start. METANODE_<SECTION>_<KEY> environment variables
# override any key (e.g. METANODE_HTTP_PORT=9181, METANODE_CHAIN_ESPLORA_URL=...).

network: ${o.network}

# SQLite database (round log, transfers, deposits, peers) and, by default, the keystore.
dataDir: ${q(o.dataDir)}

keystore:
  # Encrypted identity key and threshold shares: <dataDir>/keys, files 0600.
  # Passphrase: passphraseFile below, a systemd credential named "passphrase"
  # (LoadCredential=passphrase:/etc/metanode/passphrase), the environment variable
  # METANODE_PASSPHRASE, or a prompt.
${o.passphraseFile ? `  passphraseFile: ${q(o.passphraseFile)}` : '  # passphraseFile: /etc/metanode/passphrase'}
  # scrypt cost for key files (power of two; at least 32768 on mainnet).
  scryptN: 32768

${chainSection(o.network)}

# Your stake outpoint, once created (\`metanode stake --reward <address>\` shows how):
# stake:
#   txid: <64 hex>
#   vout: 0

p2p:
  listen:
    - /ip4/0.0.0.0/tcp/4001
  # Peers to dial at start, each ending in /p2p/<peer id>.
  bootstrap: []

http:
  # Loopback only: the API accepts transfer requests without authentication.
  host: 127.0.0.1
  port: 9180

log:
  level: info
`;
}
