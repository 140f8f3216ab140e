// Test support: an HTTP server in front of the devchain's Bitcoin Core JSON-RPC that counts the
// methods asked, can answer some itself (a lying or broken bitcoind), or never answer. And the
// two chain sources the shared deposit-watcher and stake tests run against.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BitcoindChainSource } from '../../src/chain/bitcoind.js';
import type { RunningDevchain } from '../../src/chain/devchain/index.js';
import type { RpcRequest } from '../../src/chain/devchain/core-rpc.js';
import { EsploraChainSource } from '../../src/chain/esplora.js';
import type { ChainSource } from '../../src/chain/types.js';

export interface CoreProxy {
  url: string;
  /** Methods asked since the last reset, in order. */
  methods: string[];
  close(): Promise<void>;
}

type Answer = { status: number; body: unknown } | 'hang' | undefined;

/** `override` answers a request itself (a result, an error, 'hang') or passes it on (undefined). */
export async function coreProxy(dc: RunningDevchain, override: (wallet: string | null, rpc: RpcRequest) => Answer = () => undefined): Promise<CoreProxy> {
  const methods: string[] = [];
  const server: Server = createServer(async (req, res) => {
    let text = '';
    for await (const c of req) text += c;
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const wallet = path.startsWith('/wallet/') ? decodeURIComponent(path.slice(8)) : null;
    const rpc = JSON.parse(text) as RpcRequest;
    methods.push(rpc.method);
    const r = override(wallet, rpc) ?? dc.rpc.core.handle(wallet, { method: rpc.method, params: rpc.params ?? [], id: rpc.id });
    if (r === 'hang') return;
    const body = JSON.stringify(r.body);
    res.writeHead(r.status, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    methods,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export const ok = (id: unknown, result: unknown) => ({ status: 200, body: { result, error: null, id } });
export const rpcError = (id: unknown, code: number, message: string) => ({ status: code === -32601 ? 404 : 500, body: { result: null, error: { code, message }, id } });

/** The devchain's Bitcoin Core JSON-RPC through the adapter, with the devchain's credentials. */
export function coreSource(dc: RunningDevchain, opts: { url?: string; wallet?: string; timeoutMs?: number } = {}): BitcoindChainSource {
  return new BitcoindChainSource({ url: opts.url ?? dc.url, network: 'regtest', user: dc.rpc.user, password: dc.rpc.password, wallet: opts.wallet ?? 'metanode', timeoutMs: opts.timeoutMs });
}

/** Both adapters over one devchain, for tests that must hold whichever a node uses. */
export const ADAPTERS: { name: 'esplora' | 'bitcoind'; make(dc: RunningDevchain, wallet: string): ChainSource }[] = [
  { name: 'esplora', make: (dc) => new EsploraChainSource({ baseUrl: dc.url, network: 'regtest' }) },
  { name: 'bitcoind', make: (dc, wallet) => coreSource(dc, { wallet }) },
];
