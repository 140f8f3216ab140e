// The devchain as Bitcoin Core: the JSON-RPC methods metanode's bitcoind adapter uses, node and
// wallet, with Core 28's result shapes, error codes and messages, and its legacy JSON-RPC 1.0
// HTTP statuses (500 for an RPC error, 404 for an unknown method). There is no bitcoind on these
// machines; this is what `metanode devnet --chain bitcoind` and the adapter's tests talk to.
//
// As configured by default it behaves like a Core node without -txindex (getrawtransaction finds
// mempool transactions, and confirmed ones only with the block hash given), unpruned, synced,
// with wallets enabled. `CoreRpcOptions` changes that to show the adapter what it must refuse.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { addressToScript, classifyScript, scriptToAddress } from '../network.js';
import { checkedDescriptor, descriptorChecksum } from '../descriptor.js';
import type { DevChain, DevTx } from './chain.js';
import { CoreWallets, type CoreWallet } from './core-wallet.js';
import { parseTx, TxReject } from './validate.js';

export interface CoreRpcOptions {
  /** getnetworkinfo's version (default 280100, Core 28.1.0). */
  version?: number;
  /** -txindex (default false). */
  txindex?: boolean;
  /** Blocks below this height are pruned away (default: unpruned). */
  prunedBelow?: number;
  /** -disablewallet: no wallet methods at all. */
  disableWallet?: boolean;
  /** Reports initial block download. */
  initialBlockDownload?: boolean;
  /** estimatesmartfee's answer, BTC/kvB (default: no estimate, as on a fresh regtest). */
  feerate?: number;
}

export interface RpcRequest {
  method: string;
  params: unknown[];
  id: unknown;
}

export class RpcError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

type Params = unknown[];
const WALLET_METHODS = new Set(['listwallets', 'loadwallet', 'createwallet', 'unloadwallet', 'getwalletinfo', 'listdescriptors', 'importdescriptors', 'listunspent', 'gettransaction', 'listsinceblock']);
const NO_WALLET_NEEDED = new Set(['listwallets', 'loadwallet', 'createwallet', 'unloadwallet']);

const btc = (sats: bigint) => Number(sats) / 1e8;
const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v);

function arg<T>(p: Params, i: number, type: 'string' | 'number' | 'bool' | 'array' | 'object', fallback?: T): T {
  const v = p[i];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new RpcError(-1, `Missing required argument ${i + 1}`);
  }
  if (typeName(v) !== type) throw new RpcError(-3, `JSON value of type ${typeName(v)} is not of expected type ${type}`);
  return v as T;
}

function hashArg(p: Params, i: number, name: string): string {
  const v = arg<string>(p, i, 'string');
  if (!/^[0-9a-fA-F]{64}$/.test(v)) throw new RpcError(-8, `${name} must be of length 64 (not ${v.length}, for '${v}')`);
  return v.toLowerCase();
}

export class CoreRpc {
  readonly wallets: CoreWallets;
  private readonly opts: CoreRpcOptions;

  constructor(private readonly chain: DevChain, opts: CoreRpcOptions = {}) {
    this.opts = opts;
    this.wallets = new CoreWallets(chain, chain.database());
  }

  /** One request; `walletPath` is the <name> of a /wallet/<name> URL, or null. */
  handle(walletPath: string | null, req: RpcRequest): { status: number; body: unknown } {
    try {
      if (!Array.isArray(req.params)) throw new RpcError(-32600, 'Params must be an array');
      const result = this.dispatch(walletPath, req.method, req.params);
      return { status: 200, body: { result, error: null, id: req.id } };
    } catch (e) {
      if (!(e instanceof RpcError)) throw e;
      const status = e.code === -32601 ? 404 : e.code === -32600 ? 400 : 500;
      return { status, body: { result: null, error: { code: e.code, message: e.message }, id: req.id } };
    }
  }

  private dispatch(walletPath: string | null, method: string, p: Params): unknown {
    if (WALLET_METHODS.has(method)) {
      if (this.opts.disableWallet) throw new RpcError(-32601, 'Method not found');
      if (NO_WALLET_NEEDED.has(method)) return this.walletAdmin(method, p);
      return this.walletMethod(this.walletFor(walletPath), method, p);
    }
    const c = this.chain;
    switch (method) {
      case 'getnetworkinfo': {
        const v = this.opts.version ?? 280100;
        const sub = `/Satoshi:${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}/`;
        return { version: v, subversion: sub, protocolversion: 70016, localservices: '0000000000000c09', localrelay: true, timeoffset: 0, networkactive: true, connections: 0, connections_in: 0, connections_out: 0, networks: [], relayfee: 0.00001, incrementalfee: 0.00001, localaddresses: [], warnings: [] };
      }
      case 'getblockchaininfo': {
        const tip = c.tip();
        return {
          chain: 'regtest',
          blocks: c.height(),
          headers: c.height(),
          bestblockhash: tip.hash,
          difficulty: 4.656542373906925e-10,
          time: tip.time,
          mediantime: c.medianTimePast(),
          verificationprogress: 1,
          initialblockdownload: this.opts.initialBlockDownload ?? false,
          chainwork: (c.height() * 2 + 2).toString(16).padStart(64, '0'),
          size_on_disk: 0,
          pruned: this.opts.prunedBelow !== undefined,
          ...(this.opts.prunedBelow !== undefined ? { pruneheight: this.opts.prunedBelow, automatic_pruning: true, prune_target_size: 576716800 } : {}),
          warnings: [],
        };
      }
      case 'getindexinfo':
        return this.opts.txindex ? { txindex: { synced: true, best_block_height: c.height() } } : {};
      case 'getbestblockhash':
        return c.tip().hash;
      case 'getblockhash': {
        const h = arg<number>(p, 0, 'number');
        const b = Number.isInteger(h) ? c.blockAt(h) : undefined;
        if (!b) throw new RpcError(-8, 'Block height out of range');
        return b.hash;
      }
      case 'getblockheader': {
        const b = this.block(hashArg(p, 0, 'hash'));
        if (arg<boolean>(p, 1, 'bool', true) === false) return b.header;
        return { ...this.blockFields(b.height), nTx: b.txids.length };
      }
      case 'getblock': {
        const b = this.block(hashArg(p, 0, 'blockhash'));
        const verbosity = typeof p[1] === 'boolean' ? (p[1] ? 1 : 0) : arg<number>(p, 1, 'number', 1);
        this.notPruned(b.height);
        if (verbosity === 0) return this.rawBlock(b.height);
        if (verbosity !== 1) throw new RpcError(-8, 'devchain answers getblock verbosity 0 and 1 only');
        return { ...this.blockFields(b.height), nTx: b.txids.length, tx: [...b.txids], strippedsize: 0, size: 0, weight: 0 };
      }
      case 'getrawtransaction':
        return this.getRawTransaction(p);
      case 'gettxout': {
        const txid = hashArg(p, 0, 'txid');
        const n = arg<number>(p, 1, 'number');
        const includeMempool = arg<boolean>(p, 2, 'bool', true);
        const t = c.tx(txid);
        const o = t?.p.outputs[n];
        if (!t || !o || o.kind === 'nulldata') return null;
        const st = c.txStatus(txid);
        if (!st.confirmed && !(includeMempool && c.inMempool(txid))) return null;
        const spend = c.outspend(txid, n);
        if (spend.spent && (spend.status.confirmed || includeMempool)) return null;
        return {
          bestblock: c.tip().hash,
          confirmations: st.confirmed ? c.height() - st.blockHeight! + 1 : 0,
          value: btc(o.value),
          scriptPubKey: this.scriptJson(o.script),
          coinbase: t.kind === 'coinbase',
        };
      }
      case 'gettxspendingprevout': {
        const outs = arg<{ txid?: unknown; vout?: unknown }[]>(p, 0, 'array');
        if (outs.length === 0) throw new RpcError(-8, 'Invalid parameter, outputs are missing');
        return outs.map((o) => {
          if (typeof o !== 'object' || o === null || typeof o.txid !== 'string' || !/^[0-9a-f]{64}$/.test(o.txid)) throw new RpcError(-8, 'txid must be hexadecimal string');
          if (typeof o.vout !== 'number' || !Number.isInteger(o.vout) || o.vout < 0) throw new RpcError(-8, 'Invalid parameter, vout cannot be negative');
          const s = c.outspend(o.txid, o.vout);
          return { txid: o.txid, vout: o.vout, ...(s.spent && !s.status.confirmed ? { spendingtxid: s.txid } : {}) };
        });
      }
      case 'getmempoolentry': {
        const txid = hashArg(p, 0, 'txid');
        if (!c.inMempool(txid)) throw new RpcError(-5, 'Transaction not in mempool');
        const t = c.tx(txid)!;
        return { vsize: t.p.vsize, weight: t.p.weight, time: c.now(), height: c.height(), descendantcount: 1, descendantsize: t.p.vsize, ancestorcount: 1, ancestorsize: t.p.vsize, wtxid: txid, fees: { base: 0, modified: 0, ancestor: 0, descendant: 0 }, depends: [], spentby: [], 'bip125-replaceable': true, unbroadcast: false };
      }
      case 'sendrawtransaction': {
        const hex = arg<string>(p, 0, 'string');
        let txid: string;
        try {
          txid = parseTx(hex).txid;
        } catch {
          throw new RpcError(-22, 'TX decode failed. Make sure the tx has at least one input.');
        }
        if (c.inMempool(txid)) return txid; // Core answers an already-known mempool tx with its txid
        try {
          return c.submit(hex);
        } catch (e) {
          if (!(e instanceof TxReject)) throw e;
          if (e.reason === 'txn-already-known') throw new RpcError(-27, 'Transaction outputs already in utxo set');
          if (e.reason === 'bad-txns-inputs-missingorspent') throw new RpcError(-25, e.reason);
          throw new RpcError(-26, e.reason);
        }
      }
      case 'estimatesmartfee': {
        const target = arg<number>(p, 0, 'number');
        if (!Number.isInteger(target) || target < 1 || target > 1008) throw new RpcError(-8, `Invalid conf_target, must be between 1 and 1008`);
        return this.opts.feerate === undefined ? { errors: ['Insufficient data or no feerate found'], blocks: target } : { feerate: this.opts.feerate, blocks: target };
      }
      default:
        throw new RpcError(-32601, 'Method not found');
    }
  }

  // ---- node helpers --------------------------------------------------------------------------

  private block(hash: string) {
    const b = this.chain.block(hash);
    if (!b || this.chain.blockAt(b.height)?.hash !== b.hash) throw new RpcError(-5, 'Block not found');
    return b;
  }

  private notPruned(height: number): void {
    if (this.opts.prunedBelow !== undefined && height < this.opts.prunedBelow) throw new RpcError(-1, 'Block not available (pruned data)');
  }

  private blockFields(height: number) {
    const c = this.chain;
    const b = c.blockAt(height)!;
    const next = c.blockAt(height + 1);
    const times = [];
    for (let h = Math.max(0, height - 10); h <= height; h++) times.push(c.blockAt(h)!.time);
    times.sort((x, y) => x - y);
    return {
      hash: b.hash,
      confirmations: c.height() - height + 1,
      height,
      version: 0x20000000,
      versionHex: '20000000',
      merkleroot: bytesToHex(hexToBytes(b.header.slice(72, 136)).reverse()),
      time: b.time,
      mediantime: times[Math.floor(times.length / 2)],
      nonce: Buffer.from(b.header.slice(152, 160), 'hex').readUInt32LE(0),
      bits: '207fffff',
      difficulty: 4.656542373906925e-10,
      chainwork: (height * 2 + 2).toString(16).padStart(64, '0'),
      ...(height > 0 ? { previousblockhash: b.prevHash } : {}),
      ...(next ? { nextblockhash: next.hash } : {}),
    };
  }

  private rawBlock(height: number): string {
    const b = this.chain.blockAt(height)!;
    const n = b.txids.length;
    const varint = n < 0xfd ? n.toString(16).padStart(2, '0') : 'fd' + Buffer.from([n & 0xff, n >> 8]).toString('hex');
    return b.header + varint + b.txids.map((id) => this.chain.tx(id)!.p.hex).join('');
  }

  private scriptJson(script: Uint8Array) {
    const hex = bytesToHex(script);
    const address = scriptToAddress(hex, this.chain.network);
    const type = { p2tr: 'witness_v1_taproot', p2wpkh: 'witness_v0_keyhash', p2wsh: 'witness_v0_scripthash', p2pkh: 'pubkeyhash', p2sh: 'scripthash', nulldata: 'nulldata', nonstandard: 'nonstandard' }[classifyScript(script)];
    return { asm: '', desc: address ? `addr(${address})#${descriptorChecksum(`addr(${address})`)}` : `raw(${hex})`, hex, ...(address ? { address } : {}), type };
  }

  private getRawTransaction(p: Params): unknown {
    const c = this.chain;
    const txid = hashArg(p, 0, 'parameter 1');
    const verbose = typeof p[1] === 'number' ? p[1] > 0 : arg<boolean>(p, 1, 'bool', false);
    let inBlock: { hash: string; height: number } | undefined;
    if (p[2] !== undefined && p[2] !== null) {
      const bh = hashArg(p, 2, 'parameter 3');
      const b = c.block(bh);
      if (!b || c.blockAt(b.height)?.hash !== b.hash) throw new RpcError(-5, 'Block hash not found');
      this.notPruned(b.height);
      if (!b.txids.includes(txid)) throw new RpcError(-5, 'No such transaction found in the provided block. Use gettransaction for wallet transactions.');
      inBlock = { hash: b.hash, height: b.height };
    } else {
      const st = c.txStatus(txid);
      const known = c.inMempool(txid) || (st.confirmed && this.opts.txindex);
      if (!known) {
        throw new RpcError(
          -5,
          this.opts.txindex
            ? 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.'
            : 'No such mempool transaction. Use -txindex or provide a block hash to enable blockchain transaction queries. Use gettransaction for wallet transactions.',
        );
      }
      if (st.confirmed) inBlock = { hash: st.blockHash!, height: st.blockHeight! };
    }
    const t = c.tx(txid)!;
    if (!verbose) return t.p.hex;
    const b = inBlock ? c.blockAt(inBlock.height)! : undefined;
    return {
      ...this.decoded(t),
      hex: t.p.hex,
      ...(p[2] !== undefined && p[2] !== null ? { in_active_chain: true } : {}),
      ...(b ? { blockhash: b.hash, confirmations: c.height() - b.height + 1, time: b.time, blocktime: b.time } : {}),
    };
  }

  private decoded(t: DevTx) {
    const x = t.p;
    return {
      txid: x.txid,
      hash: x.txid,
      version: x.version,
      size: x.size,
      vsize: x.vsize,
      weight: x.weight,
      locktime: x.lockTime,
      vin: x.inputs.map((i) => ({ txid: i.txid, vout: i.vout, scriptSig: { asm: '', hex: bytesToHex(i.scriptSig) }, txinwitness: i.witness.map(bytesToHex), sequence: i.sequence })),
      vout: x.outputs.map((o, n) => ({ value: btc(o.value), n, scriptPubKey: this.scriptJson(o.script) })),
    };
  }

  // ---- wallets -------------------------------------------------------------------------------

  private walletFor(path: string | null): CoreWallet {
    const w = this.wallets;
    if (path !== null) {
      const got = w.get(path);
      if (!got) throw new RpcError(-18, 'Requested wallet does not exist or is not loaded');
      return got;
    }
    const loaded = w.loadedNames();
    if (loaded.length === 0) throw new RpcError(-18, 'No wallet is loaded. Load a wallet using loadwallet or create a new one with createwallet. (Note: A default wallet is no longer automatically created)');
    if (loaded.length > 1) throw new RpcError(-19, 'Wallet file not specified (must request wallet RPC through /wallet/<filename> uri-path).');
    return w.get(loaded[0]!)!;
  }

  private walletAdmin(method: string, p: Params): unknown {
    const w = this.wallets;
    switch (method) {
      case 'listwallets':
        return w.loadedNames();
      case 'loadwallet': {
        const name = arg<string>(p, 0, 'string');
        if (!w.exists(name)) throw new RpcError(-18, `Wallet file verification failed. Failed to load database path '/regtest/wallets/${name}'. Path does not exist.`);
        if (w.isLoaded(name)) throw new RpcError(-35, `Wallet "${name}" is already loaded.`);
        w.markLoaded(name, true);
        return { name, warnings: [] };
      }
      case 'unloadwallet': {
        const name = arg<string>(p, 0, 'string');
        if (!w.isLoaded(name)) throw new RpcError(-18, 'Requested wallet does not exist or is not loaded');
        w.markLoaded(name, false);
        return { warnings: [] };
      }
      case 'createwallet': {
        const name = arg<string>(p, 0, 'string');
        const disablePrivateKeys = arg<boolean>(p, 1, 'bool', false);
        const blank = arg<boolean>(p, 2, 'bool', false);
        const descriptors = arg<boolean>(p, 5, 'bool', true);
        if (!descriptors) {
          throw new RpcError(-4, 'BDB wallet creation is deprecated and will be removed in a future release. In this release it can be re-enabled temporarily with the -deprecatedrpc=create_bdb setting.');
        }
        if (w.exists(name)) throw new RpcError(-4, `Wallet file verification failed. Failed to create database path '/regtest/wallets/${name}'. Database already exists.`);
        w.create(name, !disablePrivateKeys, blank);
        return { name, warnings: [] };
      }
    }
    throw new RpcError(-32601, 'Method not found');
  }

  private walletMethod(wallet: CoreWallet, method: string, p: Params): unknown {
    const c = this.chain;
    const ws = this.wallets;
    switch (method) {
      case 'getwalletinfo':
        ws.refresh(wallet);
        return {
          walletname: wallet.name,
          walletversion: 169900,
          format: 'sqlite',
          txcount: wallet.txs.size,
          keypoolsize: 0,
          keypoolsize_hd_internal: 0,
          paytxfee: 0,
          private_keys_enabled: wallet.privateKeys,
          avoid_reuse: false,
          scanning: false,
          descriptors: true,
          external_signer: false,
          blank: wallet.blank,
          lastprocessedblock: { hash: c.tip().hash, height: c.height() },
        };
      case 'listdescriptors':
        if (arg<boolean>(p, 0, 'bool', false) && !wallet.privateKeys) throw new RpcError(-4, 'Can\'t get descriptor string.');
        return { wallet_name: wallet.name, descriptors: [...wallet.descriptors.values()].sort((a, b) => (a.desc < b.desc ? -1 : 1)).map((d) => ({ desc: d.desc, timestamp: d.timestamp, active: false })) };
      case 'importdescriptors': {
        const reqs = arg<unknown[]>(p, 0, 'array');
        const now = c.medianTimePast();
        return reqs.map((r) => {
          try {
            if (typeof r !== 'object' || r === null) throw new RpcError(-3, 'Invalid request: not an object');
            const { desc, timestamp } = r as { desc?: unknown; timestamp?: unknown };
            if (typeof desc !== 'string') throw new RpcError(-8, 'Descriptor not found.');
            if (timestamp === undefined) throw new RpcError(-8, 'Missing required timestamp field for key');
            const ts = timestamp === 'now' ? now : typeof timestamp === 'number' && Number.isInteger(timestamp) && timestamp >= 0 ? timestamp : null;
            if (ts === null) throw new RpcError(-3, `Expected number or "now" timestamp value for key. got type ${typeName(timestamp)}`);
            const hash = desc.lastIndexOf('#');
            if (hash < 0) throw new RpcError(-5, 'Missing checksum');
            const body = checkedDescriptor(desc);
            if (body === null) {
              let computed = '';
              try {
                computed = descriptorChecksum(desc.slice(0, hash));
              } catch {
                /* not a descriptor at all */
              }
              throw new RpcError(-5, `Provided checksum '${desc.slice(hash + 1)}' does not match computed checksum '${computed}'`);
            }
            const m = /^addr\(([^)]*)\)$/.exec(body);
            if (!m) throw new RpcError(-5, `devchain imports addr() descriptors only, not ${JSON.stringify(body)}`);
            try {
              addressToScript(m[1]!, c.network);
            } catch {
              throw new RpcError(-5, `addr(): Address is not valid`);
            }
            if (wallet.privateKeys) throw new RpcError(-4, 'Cannot import descriptor without private keys to a wallet with private keys enabled');
            ws.importAddress(wallet, desc, m[1]!, ts);
            return { success: true };
          } catch (e) {
            if (!(e instanceof RpcError)) throw e;
            return { success: false, error: { code: e.code, message: e.message } };
          }
        });
      }
      case 'listunspent': {
        const minconf = arg<number>(p, 0, 'number', 1);
        const maxconf = arg<number>(p, 1, 'number', 9999999);
        const addresses = arg<string[]>(p, 2, 'array', []);
        const includeUnsafe = arg<boolean>(p, 3, 'bool', true);
        const only = new Set<string>();
        for (const a of addresses) {
          try {
            addressToScript(a, c.network);
          } catch {
            throw new RpcError(-5, `Invalid Bitcoin address: ${a}`);
          }
          if (only.has(a)) throw new RpcError(-8, `Invalid parameter, duplicated address: ${a}`);
          only.add(a);
        }
        ws.refresh(wallet);
        return ws
          .unspent(wallet)
          .filter((u) => only.size === 0 || only.has(u.address))
          .map((u) => ({ ...u, confirmations: u.height === undefined ? 0 : c.height() - u.height + 1 }))
          .filter((u) => u.confirmations >= minconf && u.confirmations <= maxconf && (includeUnsafe || u.confirmations > 0))
          .map((u) => ({
            txid: u.txid,
            vout: u.vout,
            address: u.address,
            label: '',
            scriptPubKey: u.script,
            amount: btc(u.value),
            confirmations: u.confirmations,
            spendable: false,
            solvable: false,
            parent_descs: [wallet.descriptors.get(u.script)!.desc],
            safe: u.confirmations > 0,
          }));
      }
      case 'gettransaction': {
        const txid = hashArg(p, 0, 'txid');
        ws.refresh(wallet);
        const hex = wallet.txs.get(txid);
        if (hex === undefined) throw new RpcError(-5, 'Invalid or non-wallet transaction id');
        const entry = this.walletTxEntry(wallet, txid, hex);
        const verbose = arg<boolean>(p, 2, 'bool', false);
        return { ...entry.fields, details: entry.details, hex, ...(verbose ? { decoded: this.decoded({ p: parseTx(hex), kind: 'normal' }) } : {}) };
      }
      case 'listsinceblock': {
        let sinceHeight = -1;
        if (p[0] !== undefined && p[0] !== null && p[0] !== '') sinceHeight = this.block(hashArg(p, 0, 'blockhash')).height;
        const target = arg<number>(p, 1, 'number', 1);
        if (!Number.isInteger(target) || target < 1) throw new RpcError(-8, 'Invalid parameter');
        ws.refresh(wallet);
        const transactions: unknown[] = [];
        for (const [txid, hex] of wallet.txs) {
          const st = c.txStatus(txid);
          if (st.confirmed && st.blockHeight! <= sinceHeight) continue;
          const e = this.walletTxEntry(wallet, txid, hex);
          for (const d of e.details) transactions.push({ ...d, ...e.fields });
        }
        const last = c.blockAt(Math.max(0, c.height() + 1 - target))!;
        return { transactions, removed: [], lastblock: last.hash };
      }
    }
    throw new RpcError(-32601, 'Method not found');
  }

  private walletTxEntry(wallet: CoreWallet, txid: string, hex: string) {
    const c = this.chain;
    const st = c.txStatus(txid);
    const p = parseTx(hex);
    const details: Record<string, unknown>[] = [];
    p.outputs.forEach((o, vout) => {
      const d = wallet.descriptors.get(bytesToHex(o.script));
      if (d) details.push({ involvesWatchonly: true, address: d.address, category: 'receive', amount: btc(o.value), label: '', vout, abandoned: false, parent_descs: [d.desc] });
    });
    const debit = this.wallets.spentOwn(wallet, txid).length > 0;
    if (debit) {
      p.outputs.forEach((o, vout) => {
        if (wallet.descriptors.has(bytesToHex(o.script))) return;
        const address = scriptToAddress(bytesToHex(o.script), c.network);
        details.push({ involvesWatchonly: true, ...(address ? { address } : {}), category: 'send', amount: -btc(o.value), vout, fee: 0, abandoned: false });
      });
    }
    const received = p.outputs.reduce((a, o) => a + (wallet.descriptors.has(bytesToHex(o.script)) ? o.value : 0n), 0n);
    const fields = {
      amount: btc(received),
      confirmations: st.confirmed ? c.height() - st.blockHeight! + 1 : 0,
      ...(st.confirmed ? { blockhash: st.blockHash, blockheight: st.blockHeight, blockindex: c.blockAt(st.blockHeight!)!.txids.indexOf(txid), blocktime: st.blockTime } : {}),
      ...(!st.confirmed && !c.inMempool(txid) ? { trusted: false } : {}),
      txid,
      wtxid: txid,
      walletconflicts: [],
      time: st.blockTime ?? c.now(),
      timereceived: st.blockTime ?? c.now(),
      'bip125-replaceable': st.confirmed ? 'no' : 'yes',
    };
    return { fields, details };
  }
}
