// Starts the devchain: state (in memory, or SQLite under dataDir), the HTTP server on loopback
// (Esplora REST, and Bitcoin Core JSON-RPC behind a cookie), and optionally a block timer. Also
// the standalone entry point behind `metanode devchain`.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { DevChain } from './chain.js';
import { CoreRpc, type CoreRpcOptions } from './core-rpc.js';
import { createDevchainServer } from './server.js';
import { MetanodeError } from '../../util/errors.js';

export { DevChain, devchainMigrations } from './chain.js';
export { CoreRpc, type CoreRpcOptions } from './core-rpc.js';
export type { DevBlock, DevCoin, DevTx, DevTxStatus } from './chain.js';
export { TxReject } from './validate.js';

export interface DevchainOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  /** Mine one block (with the mempool) every this many ms; 0 or absent: only on /dev/mine. */
  blockIntervalMs?: number;
  network: 'regtest';
  /** How the Bitcoin Core JSON-RPC behaves (version, txindex, pruning, wallets); see core-rpc.ts. */
  core?: CoreRpcOptions;
}

export interface RunningDevchain {
  url: string;
  port: number;
  chain: DevChain;
  /** Bitcoin Core JSON-RPC at `url`: the credentials it requires, and the cookie file holding them (with a dataDir). */
  rpc: { user: string; password: string; cookieFile?: string; core: CoreRpc };
  close(): Promise<void>;
}

export async function startDevchain(opts: DevchainOptions): Promise<RunningDevchain> {
  if (opts.network !== 'regtest') throw new MetanodeError('INVALID_CONFIG', `devchain simulates regtest only, not ${String(opts.network)}`);
  const host = opts.host ?? '127.0.0.1';
  const chain = new DevChain({ dbPath: opts.dataDir ? join(opts.dataDir, 'devchain.sqlite') : undefined });
  const core = new CoreRpc(chain, opts.core);
  // Like bitcoind: a fresh cookie per start, "__cookie__:<random>", in the data directory (0600).
  const password = randomBytes(32).toString('hex');
  const cookieFile = opts.dataDir ? join(opts.dataDir, '.cookie') : undefined;
  if (cookieFile) writeFileSync(cookieFile, `__cookie__:${password}`, { mode: 0o600 });
  const server = createDevchainServer(chain, { rpc: core, credentials: `__cookie__:${password}` });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    chain.close();
    if (cookieFile) rmSync(cookieFile, { force: true });
    throw new MetanodeError('INVALID_CONFIG', `devchain cannot listen on ${host}:${opts.port ?? 0}: ${(e as Error).message}`);
  }
  const port = (server.address() as AddressInfo).port;
  let timer: NodeJS.Timeout | undefined;
  if (opts.blockIntervalMs && opts.blockIntervalMs > 0) {
    timer = setInterval(() => {
      try {
        chain.mine(1);
      } catch (e) {
        process.stderr.write(`devchain: block timer failed to mine: ${(e as Error).message}\n`);
      }
    }, opts.blockIntervalMs);
    timer.unref();
  }
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    chain,
    rpc: { user: '__cookie__', password, ...(cookieFile ? { cookieFile } : {}), core },
    close() {
      closed ??= (async () => {
        if (timer) clearInterval(timer);
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        chain.close();
        if (cookieFile) rmSync(cookieFile, { force: true });
      })();
      return closed;
    },
  };
}

/** `metanode devchain --port N [--data-dir D] [--block-interval-ms M]`: runs until SIGINT/SIGTERM. */
export async function runDevchainCommand(opts: { port?: number; dataDir?: string; blockIntervalMs?: number; host?: string }): Promise<void> {
  const dc = await startDevchain({ ...opts, network: 'regtest' });
  process.stdout.write(
    `devchain (regtest) listening on ${dc.url} at height ${dc.chain.height()}${opts.dataDir ? `, data in ${opts.dataDir}` : ', in memory'}` +
      `; Bitcoin Core JSON-RPC at the same URL, ${dc.rpc.cookieFile ? `cookie ${dc.rpc.cookieFile}` : `user ${dc.rpc.user} password ${dc.rpc.password}`}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await dc.close();
}
