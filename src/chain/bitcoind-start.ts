// What the node checks about Bitcoin Core before it uses it, once at start: every missing piece
// is one line of one INVALID_CONFIG error, so an operator fixes them all in one go.
//
// - Core 28.0 or later (getnetworkinfo). 28.0 brought -rpccookieperms, which is how the metanode
//   user reads Core's cookie; importdescriptors has scanned the mempool since 24.0.
// - The configured network (getblockchaininfo.chain), and not in initial block download (alone,
//   that is CHAIN_UNAVAILABLE: the node exits 1 and systemd starts it again later; every other
//   problem is INVALID_CONFIG, exit 78, which systemd does not restart).
// - Not pruned: a stake is checked in the block that confirmed it (getrawtransaction with the
//   block hash, getblock for its transaction list), and stakes are at least 72 hours old.
// - Wallets enabled, and the node's wallet loaded, created if absent as a blank descriptor wallet
//   with private keys disabled (watch-only); an existing wallet with private keys is refused.
//   No -txindex is needed (see README, "Bitcoin Core").
import { z } from 'zod';
import { MetanodeError } from '../util/errors.js';
import { BitcoindRpc, rpcCode } from './bitcoind-rpc.js';
import { addressOfDescriptor } from './descriptor.js';
import type { Network } from './types.js';

export const MIN_CORE_VERSION = 280000;
export const CORE_CHAIN: Record<Network, string> = { mainnet: 'main', testnet: 'test', signet: 'signet', regtest: 'regtest' };

const networkInfo = z.object({ version: z.number().int(), subversion: z.string() });
const chainInfo = z.object({ chain: z.string(), blocks: z.number().int().min(0), headers: z.number().int().min(0), initialblockdownload: z.boolean(), pruned: z.boolean() });
const walletInfo = z.object({ walletname: z.string(), private_keys_enabled: z.boolean(), descriptors: z.boolean().optional() });
const descriptorList = z.object({ descriptors: z.array(z.object({ desc: z.string(), timestamp: z.number().int().min(0) })) });

function version(v: number): string {
  return `${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}`;
}

/** Runs every check; returns the addresses the wallet already watches (so none is imported twice). */
export async function checkCore(rpc: BitcoindRpc, network: Network): Promise<Set<string>> {
  const problems: string[] = [];
  const net = await rpc.call('getnetworkinfo', [], networkInfo);
  if (net.version < MIN_CORE_VERSION) {
    problems.push(`Bitcoin Core ${version(net.version)} (${net.subversion}) is too old: metanode needs ${version(MIN_CORE_VERSION)} or later`);
  }
  const info = await rpc.call('getblockchaininfo', [], chainInfo);
  if (info.chain !== CORE_CHAIN[network]) problems.push(`bitcoind runs chain '${info.chain}', configured network is ${network} (bitcoind's '${CORE_CHAIN[network]}')`);
  if (info.pruned) problems.push('bitcoind is pruned: stakes are checked in the block that confirmed them, which a pruned node may have deleted; run bitcoind without -prune');
  const syncing = info.initialblockdownload ? `bitcoind is in initial block download (block ${info.blocks} of ${info.headers} headers): start metanode once it has synced` : null;
  if (syncing) problems.push(syncing);

  const imported = new Set<string>();
  const wallet = await openWallet(rpc, problems);
  if (wallet) {
    const w = await rpc.call('getwalletinfo', [], walletInfo, { wallet: true });
    if (w.private_keys_enabled) {
      problems.push(`bitcoind wallet '${rpc.wallet}' holds private keys: metanode follows its addresses in a watch-only wallet of its own; set chain.bitcoind.wallet to a new name and the node creates it`);
    } else if (w.descriptors === false) {
      problems.push(`bitcoind wallet '${rpc.wallet}' is a legacy wallet: metanode needs a descriptor wallet; set chain.bitcoind.wallet to a new name and the node creates it`);
    } else for (const a of await importedAddresses(rpc)) imported.add(a);
  }
  // Syncing alone passes by itself: not a config error (exit 78, no restart) but a wait (exit 1, systemd restarts).
  if (syncing && problems.length === 1) throw new MetanodeError('CHAIN_UNAVAILABLE', syncing);
  if (problems.length > 0) throw new MetanodeError('INVALID_CONFIG', `Bitcoin Core at the configured chain.bitcoind.url cannot serve this node:\n  - ${problems.join('\n  - ')}`, [], { problems });
  return imported;
}

/** The addresses the wallet watches through addr() descriptors (listdescriptors). */
export async function importedAddresses(rpc: BitcoindRpc): Promise<Set<string>> {
  const list = await rpc.call('listdescriptors', [], descriptorList, { wallet: true });
  const out = new Set<string>();
  for (const d of list.descriptors) {
    const a = addressOfDescriptor(d.desc);
    if (a) out.add(a);
  }
  return out;
}

/** Loads the wallet, creating it watch-only if it does not exist; false (with a problem) when it cannot. */
async function openWallet(rpc: BitcoindRpc, problems: string[]): Promise<boolean> {
  let loaded: string[];
  try {
    loaded = await rpc.call('listwallets', [], z.array(z.string()));
  } catch (e) {
    if (rpcCode(e) === -32601) {
      problems.push('bitcoind runs with -disablewallet: metanode follows deposit and vault addresses in a watch-only wallet; remove -disablewallet');
      return false;
    }
    throw e;
  }
  if (loaded.includes(rpc.wallet)) return true;
  const ok = z.object({ name: z.string() });
  try {
    await rpc.call('loadwallet', [rpc.wallet, true], ok);
    return true;
  } catch (e) {
    if (rpcCode(e) === -35) return true; // loaded meanwhile
    if (rpcCode(e) !== -18) throw e;
  }
  // createwallet name disable_private_keys blank passphrase avoid_reuse descriptors load_on_startup
  await rpc.call('createwallet', [rpc.wallet, true, true, '', false, true, true], ok);
  return true;
}
