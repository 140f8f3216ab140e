// Fuzz target: chain-source responses. A small consistent world (one block, two transactions,
// a UTXO, fee estimates) answers the Esplora REST paths and the bitcoind JSON-RPC methods through
// a stand-in for fetch; each case corrupts one answer of one call in a way that makes it
// malformed (wrong shape, wrong type, a hash that does not match, another transaction, an HTTP
// error) and expects the adapter to throw a MetanodeError with a reason, never to return and
// never to throw anything else.
import { bytesToHex } from '@noble/hashes/utils.js';
import { schnorr } from '@noble/curves/secp256k1.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { EsploraChainSource } from '../chain/esplora.js';
import { BitcoindChainSource } from '../chain/bitcoind.js';
import { addrDescriptor } from '../chain/descriptor.js';
import { decodeHeader, encodeHeader, nullInputTx, REGTEST_BITS } from '../chain/devchain/blocks.js';
import { decodeTx } from '../chain/verify.js';
import { addressFromScript } from '../crypto/taproot.js';
import type { ChainSource } from '../chain/types.js';
import { isMetanodeError } from '../util/errors.js';
import type { Prng } from '../util/prng.js';
import type { FuzzCase, FuzzOutcome } from './types.js';

const HEIGHT = 812;
const TIME = 1_725_000_000;

export interface ChainWorld {
  tipHash: string;
  prevHash: string;
  headerHex: string;
  /** A header of another block (valid, hashes elsewhere). */
  otherHeaderHex: string;
  txid: string;
  txHex: string;
  otherTxid: string;
  otherTxHex: string;
  address: string;
  script: string;
  value: number;
  spender: string;
}

export function chainWorld(): ChainWorld {
  const xonly = bytesToHex(schnorr.getPublicKey(hexToBytes('11'.repeat(32))));
  const script = '5120' + xonly;
  const txHex = nullInputTx({ height: HEIGHT, nonce: 1, tag: 'fuzz', outputs: [{ script: hexToBytes(script), value: 150_000n }] });
  const otherTxHex = nullInputTx({ height: HEIGHT, nonce: 2, tag: 'fuzz', outputs: [{ script: hexToBytes(script), value: 90_000n }] });
  const txid = decodeTx(txHex, 'INVALID_INPUT', 'fuzz world').id;
  const otherTxid = decodeTx(otherTxHex, 'INVALID_INPUT', 'fuzz world').id;
  const prevHash = '00'.repeat(31) + '7f';
  const header = encodeHeader({ version: 0x20000000, prevHash, merkleRoot: txid, time: TIME, bits: REGTEST_BITS, nonce: 0 });
  const other = encodeHeader({ version: 0x20000000, prevHash, merkleRoot: otherTxid, time: TIME, bits: REGTEST_BITS, nonce: 1 });
  return {
    tipHash: decodeHeader(header).hash,
    prevHash,
    headerHex: bytesToHex(header),
    otherHeaderHex: bytesToHex(other),
    txid,
    txHex,
    otherTxid,
    otherTxHex,
    address: addressFromScript(script, 'regtest'),
    script,
    value: 150_000,
    spender: otherTxid,
  };
}

export interface Reply {
  status: number;
  text: string;
}
type Responder = (method: string, path: string, body: string) => Reply;

/** Runs `fn` with globalThis.fetch answering from `respond` (restored afterwards). */
async function withFetch<T>(respond: (method: string, url: string, body: string) => Reply | 'network-error', fn: () => Promise<T>): Promise<T> {
  const real = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.toString() : input.url;
    const r = respond(init?.method ?? 'GET', url, typeof init?.body === 'string' ? init.body : '');
    if (r === 'network-error') throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    return new Response(r.text, { status: r.status });
  }) as typeof fetch;
  try {
    return await fn();
  } finally {
    globalThis.fetch = real;
  }
}

const json = (v: unknown): Reply => ({ status: 200, text: JSON.stringify(v) });
const text = (t: string): Reply => ({ status: 200, text: t });

// ---- Esplora ---------------------------------------------------------------------------------

export function esploraRoutes(w: ChainWorld): Array<{ key: string; match: (m: string, p: string) => boolean; reply: () => Reply }> {
  const confirmed = { confirmed: true, block_height: HEIGHT, block_hash: w.tipHash, block_time: TIME };
  return [
    { key: 'tip-hash', match: (m, p) => m === 'GET' && p === '/blocks/tip/hash', reply: () => text(w.tipHash) },
    { key: 'block-height', match: (m, p) => m === 'GET' && p === `/block-height/${HEIGHT}`, reply: () => text(w.tipHash) },
    { key: 'block', match: (m, p) => m === 'GET' && p === `/block/${w.tipHash}`, reply: () => json({ id: w.tipHash, height: HEIGHT, timestamp: TIME, previousblockhash: w.prevHash }) },
    { key: 'header', match: (m, p) => m === 'GET' && p === `/block/${w.tipHash}/header`, reply: () => text(w.headerHex) },
    { key: 'tx-hex', match: (m, p) => m === 'GET' && p === `/tx/${w.txid}/hex`, reply: () => text(w.txHex) },
    { key: 'tx-status', match: (m, p) => m === 'GET' && p === `/tx/${w.txid}/status`, reply: () => json(confirmed) },
    { key: 'outspend', match: (m, p) => m === 'GET' && p === `/tx/${w.txid}/outspend/0`, reply: () => json({ spent: true, txid: w.spender, vin: 0, status: { confirmed: false } }) },
    { key: 'utxo', match: (m, p) => m === 'GET' && p === `/address/${w.address}/utxo`, reply: () => json([{ txid: w.txid, vout: 0, status: confirmed, value: w.value }]) },
    { key: 'fee', match: (m, p) => m === 'GET' && p === '/fee-estimates', reply: () => json({ '1': 12.5, '2': 8.1, '6': 2.0 }) },
    { key: 'broadcast', match: (m, p) => m === 'POST' && p === '/tx', reply: () => text(w.txid) },
  ];
}

/** The calls each case makes, and the routes each call reads. */
const ESPLORA_CALLS: Record<string, { routes: string[]; call: (c: ChainSource, w: ChainWorld) => Promise<unknown> }> = {
  getTip: { routes: ['tip-hash', 'block', 'header'], call: (c) => c.getTip() },
  getBlockHeaderByHeight: { routes: ['block-height', 'block', 'header'], call: (c) => c.getBlockHeaderByHeight(HEIGHT) },
  getTx: { routes: ['tx-hex', 'tx-status'], call: (c, w) => c.getTx(w.txid) },
  getOutSpend: { routes: ['outspend'], call: (c, w) => c.getOutSpend(w.txid, 0) },
  getAddressUtxos: { routes: ['utxo', 'tx-hex'], call: (c, w) => c.getAddressUtxos(w.address) },
  getFeeRate: { routes: ['fee'], call: (c) => c.getFeeRate(2) },
  broadcast: { routes: ['broadcast'], call: (c, w) => c.broadcast(w.txHex) },
};

/** A malformed answer for one Esplora route (never one the adapter may legitimately accept). */
/**
 * `byHeight`: the call asked for a block at a given height, so an answer for another height is
 * malformed (for the tip or a transaction's block, any self-consistent height is an answer).
 */
export function esploraCorruption(route: string, w: ChainWorld, rng: Prng, byHeight: boolean): { op: string; reply: Reply | 'network-error' } {
  const common: Array<[string, () => Reply | 'network-error']> = [
    ['http-500', () => ({ status: rng.pick([500, 502, 503, 429]), text: 'upstream error' })],
    ['http-4xx', () => ({ status: rng.pick([400, 401, 403, 418]), text: 'no' })],
    ['network-error', () => 'network-error'],
  ];
  const hash = (): Array<[string, () => Reply]> => [
    ['not-hex', () => text('z'.repeat(64))],
    ['short-hash', () => text(w.tipHash.slice(0, 63))],
    ['long-hash', () => text(w.tipHash + '0')],
    ['uppercase-hash', () => text(w.tipHash.toUpperCase())],
    ['empty', () => text('')],
    ['json-quoted', () => text(JSON.stringify(w.tipHash))],
  ];
  const notJson: Array<[string, () => Reply]> = [
    ['not-json', () => text('{"id":' + rng.hex(4))],
    ['html', () => text('<html>busy</html>')],
  ];
  const per: Record<string, Array<[string, () => Reply]>> = {
    'tip-hash': [...hash(), ['404', () => ({ status: 404, text: '' })]],
    'block-height': [...hash(), ['other-block', () => text(rng.hex(32))]],
    block: [
      ...notJson,
      ['404', () => ({ status: 404, text: 'not found' })],
      ['array', () => json([w.tipHash])],
      ['drop-id', () => json({ height: HEIGHT, timestamp: TIME, previousblockhash: w.prevHash })],
      ['drop-height', () => json({ id: w.tipHash, timestamp: TIME, previousblockhash: w.prevHash })],
      ['drop-timestamp', () => json({ id: w.tipHash, height: HEIGHT, previousblockhash: w.prevHash })],
      ['other-id', () => json({ id: rng.hex(32), height: HEIGHT, timestamp: TIME, previousblockhash: w.prevHash })],
      ['bad-height', () => json({ id: w.tipHash, height: rng.pick<unknown>([-1, 1.5, String(HEIGHT), null]), timestamp: TIME, previousblockhash: w.prevHash })],
      ['time-mismatch', () => json({ id: w.tipHash, height: HEIGHT, timestamp: TIME + 1 + rng.int(1000), previousblockhash: w.prevHash })],
      ['prev-mismatch', () => json({ id: w.tipHash, height: HEIGHT, timestamp: TIME, previousblockhash: rng.hex(32) })],
      ...(byHeight ? ([['height-mismatch', () => json({ id: w.tipHash, height: HEIGHT + 1 + rng.int(10), timestamp: TIME, previousblockhash: w.prevHash })]] as Array<[string, () => Reply]>) : []),
    ],
    header: [
      ['other-header', () => text(w.otherHeaderHex)],
      ['short-header', () => text(w.headerHex.slice(0, 158))],
      ['not-hex', () => text('g'.repeat(160))],
      ['empty', () => text('')],
      ['404', () => ({ status: 404, text: '' })],
    ],
    'tx-hex': [
      ['other-tx', () => text(w.otherTxHex)],
      ['truncated', () => text(w.txHex.slice(0, 2 * rng.range(1, w.txHex.length / 2 - 1)))],
      ['odd-length', () => text(w.txHex.slice(0, -1))],
      ['trailing-bytes', () => text(w.txHex + '00')],
      ['not-hex', () => text('zz' + w.txHex.slice(2))],
      ['random-hex', () => text(rng.hex(rng.range(1, 200)))],
      ['empty', () => text('')],
    ],
    'tx-status': [
      ...notJson,
      ['confirmed-type', () => json({ confirmed: 'yes' })],
      ['confirmed-without-block', () => json({ confirmed: true })],
      ['bad-block-height', () => json({ confirmed: true, block_height: -1, block_hash: w.tipHash, block_time: TIME })],
      ['bad-block-hash', () => json({ confirmed: true, block_height: HEIGHT, block_hash: 'x', block_time: TIME })],
      ['array', () => json([])],
    ],
    // (A 404 means "unknown output" and is answered as unspent: not malformed, so not generated.)
    outspend: [
      ...notJson,
      ['spent-type', () => json({ spent: 'true' })],
      ['spent-without-txid', () => json({ spent: true, vin: 0 })],
      ['bad-spender', () => json({ spent: true, txid: 'Q'.repeat(64), vin: 0 })],
      ['bad-vin', () => json({ spent: true, txid: w.spender, vin: -1 })],
      ['bad-status', () => json({ spent: true, txid: w.spender, vin: 0, status: { confirmed: true } })],
    ],
    utxo: [
      ...notJson,
      ['404', () => ({ status: 404, text: '' })],
      ['object', () => json({ txid: w.txid })],
      ['drop-value', () => json([{ txid: w.txid, vout: 0, status: { confirmed: false } }])],
      ['bad-value', () => json([{ txid: w.txid, vout: 0, status: { confirmed: false }, value: rng.pick<unknown>([-1, 1.5, '150000', 3e15]) }])],
      ['value-mismatch', () => json([{ txid: w.txid, vout: 0, status: { confirmed: false }, value: w.value + 1 + rng.int(1000) }])],
      ['vout-out-of-range', () => json([{ txid: w.txid, vout: 1 + rng.int(5), status: { confirmed: false }, value: w.value }])],
      ['unknown-tx', () => json([{ txid: rng.hex(32), vout: 0, status: { confirmed: false }, value: w.value }])],
      ['other-script', () => json([{ txid: w.otherTxid, vout: 0, status: { confirmed: false }, value: w.value }])],
      ['bad-status', () => json([{ txid: w.txid, vout: 0, status: { confirmed: true, block_height: HEIGHT }, value: w.value }])],
    ],
    fee: [
      ...notJson,
      ['404', () => ({ status: 404, text: '' })],
      ['negative', () => json({ '1': -1, '2': 3 })],
      ['zero', () => json({ '2': 0 })],
      ['string-rate', () => json({ '2': '8.1' })],
      ['bad-key', () => json({ two: 8 })],
      ['huge', () => json({ '2': 2_000_000 })],
      ['array', () => json([8.1])],
    ],
    broadcast: [
      ['other-txid', () => text(w.otherTxid)],
      ['garbage', () => text('ok')],
      ['empty', () => text('')],
    ],
  };
  const list = [...common, ...(per[route] ?? [])];
  const [op, make] = rng.pick(list);
  return { op, reply: make() };
}

export function esploraCase(w: ChainWorld, rng: Prng): FuzzCase {
  const name = rng.pick(Object.keys(ESPLORA_CALLS).sort());
  const { routes, call } = ESPLORA_CALLS[name]!;
  const route = rng.pick(routes);
  const bad = esploraCorruption(route, w, rng, name === 'getBlockHeaderByHeight');
  const table = esploraRoutes(w);
  const base = 'http://127.0.0.1:3002';
  return {
    target: 'esplora',
    subject: name,
    op: `${route}:${bad.op}`,
    detail: bad.reply === 'network-error' ? 'network error' : `HTTP ${bad.reply.status} ${bad.reply.text.slice(0, 60)}`,
    run: () =>
      judgeCall(() =>
        withFetch(
          (method, url) => {
            const path = url.slice(base.length);
            const r = table.find((x) => x.match(method, path));
            if (r?.key === route) return bad.reply;
            return r ? r.reply() : { status: 404, text: 'not found' };
          },
          () => call(new EsploraChainSource({ baseUrl: base, network: 'regtest', timeoutMs: 2_000 }), w),
        ),
      ),
  };
}

// ---- bitcoind ----------------------------------------------------------------------------------

function rpcResults(w: ChainWorld): Record<string, (params: unknown[]) => unknown> {
  return {
    getnetworkinfo: () => ({ version: 280100, subversion: '/Satoshi:28.1.0/' }),
    getblockchaininfo: () => ({ chain: 'regtest', blocks: HEIGHT, headers: HEIGHT, bestblockhash: w.tipHash, initialblockdownload: false, pruned: false }),
    getblockhash: () => w.tipHash,
    getbestblockhash: () => w.tipHash,
    getblockheader: (p) => (p[1] === false ? w.headerHex : { hash: w.tipHash, height: HEIGHT, time: TIME, confirmations: 1, previousblockhash: w.prevHash }),
    getrawtransaction: () => ({ txid: w.txid, hex: w.txHex, blockhash: w.tipHash, confirmations: 1, blocktime: TIME }),
    gettxout: () => ({ bestblock: w.tipHash, confirmations: 1, value: 0.0015 }),
    listwallets: () => ['metanode'],
    getwalletinfo: () => ({ walletname: 'metanode', private_keys_enabled: false, descriptors: true }),
    listdescriptors: () => ({ wallet_name: 'metanode', descriptors: [{ desc: addrDescriptor(w.address), timestamp: TIME, active: false }] }),
    listunspent: () => [{ txid: w.txid, vout: 0, address: w.address, scriptPubKey: w.script, amount: 0.0015, confirmations: 1 }],
    gettransaction: () => ({ txid: w.txid, hex: w.txHex, confirmations: 1, blockhash: w.tipHash, blockheight: HEIGHT, blocktime: TIME }),
    estimatesmartfee: () => ({ feerate: 0.0001, blocks: 2 }),
    sendrawtransaction: () => w.txid,
  };
}

const BITCOIND_CALLS: Record<string, { methods: string[]; call: (c: ChainSource, w: ChainWorld) => Promise<unknown> }> = {
  getTip: { methods: ['getblockchaininfo', 'getblockheader', 'getblockheader-raw'], call: (c) => c.getTip() },
  getBlockHeaderByHeight: { methods: ['getblockhash', 'getblockheader', 'getblockheader-raw'], call: (c) => c.getBlockHeaderByHeight(HEIGHT) },
  getTx: { methods: ['getrawtransaction', 'getblockheader', 'getblockheader-raw'], call: (c, w) => c.getTx(w.txid) },
  getOutSpend: { methods: ['gettxout'], call: (c, w) => c.getOutSpend(w.txid, 0) },
  getAddressUtxos: {
    methods: ['listunspent', 'gettransaction'],
    call: async (c, w) => {
      await c.watchAddresses!([{ address: w.address, since: 0 }]);
      return c.getAddressUtxos(w.address);
    },
  },
  getFeeRate: { methods: ['estimatesmartfee'], call: (c) => c.getFeeRate(2) },
  broadcast: { methods: ['sendrawtransaction'], call: (c, w) => c.broadcast(w.txHex) },
};

/** A malformed reply for one RPC method: the transport, the JSON-RPC envelope, or the result. */
/** `byHeight` as for esploraCorruption. */
export function bitcoindCorruption(method: string, w: ChainWorld, rng: Prng, id: () => number, byHeight: boolean): { op: string; reply: () => Reply | 'network-error' } {
  const ok = (result: unknown) => () => json({ result, error: null, id: id() });
  const transport: Array<[string, () => Reply | 'network-error']> = [
    ['http-500-text', () => ({ status: rng.pick([500, 503]), text: 'Work queue depth exceeded' })],
    ['http-401', () => ({ status: 401, text: '' })],
    ['not-json', () => text('{"result":')],
    ['network-error', () => 'network-error'],
    ['not-an-envelope', () => json([1, 2])],
    ['id-mismatch', () => json({ result: null, error: null, id: id() + 1 })],
    ['bad-error-object', () => json({ result: null, error: { code: 'x' }, id: id() })],
    ['http-500-json-no-error', () => ({ status: 500, text: JSON.stringify({ result: 1, error: null, id: id() }) })],
    ['rpc-error', () => json({ result: null, error: { code: rng.pick([-1, -32601, -28]), message: 'boom' }, id: id() })],
  ];
  const per: Record<string, Array<[string, () => Reply]>> = {
    getblockchaininfo: [
      ['other-chain', ok({ chain: 'main', blocks: HEIGHT, bestblockhash: w.tipHash })],
      ['drop-bestblockhash', ok({ chain: 'regtest', blocks: HEIGHT })],
      ['bad-blocks', ok({ chain: 'regtest', blocks: -1, bestblockhash: w.tipHash })],
      ['bad-hash', ok({ chain: 'regtest', blocks: HEIGHT, bestblockhash: 'tip' })],
      ['null-result', ok(null)],
    ],
    getblockhash: [
      ['not-hash', ok('z'.repeat(64))],
      ['number', ok(812)],
      ['other-block', ok(rng.hex(32))],
      ['null-result', ok(null)],
    ],
    getblockheader: [
      ['hash-mismatch', ok({ hash: rng.hex(32), height: HEIGHT, time: TIME, confirmations: 1, previousblockhash: w.prevHash })],
      ['time-mismatch', ok({ hash: w.tipHash, height: HEIGHT, time: TIME - 1, confirmations: 1, previousblockhash: w.prevHash })],
      ['prev-mismatch', ok({ hash: w.tipHash, height: HEIGHT, time: TIME, confirmations: 1, previousblockhash: rng.hex(32) })],
      ...(byHeight ? ([['height-mismatch', ok({ hash: w.tipHash, height: HEIGHT + 2, time: TIME, confirmations: 1, previousblockhash: w.prevHash })]] as Array<[string, () => Reply]>) : []),
      ['bad-height', ok({ hash: w.tipHash, height: 'x', time: TIME, confirmations: 1 })],
      ['string-result', ok(w.headerHex)],
    ],
    'getblockheader-raw': [
      ['other-header', ok(w.otherHeaderHex)],
      ['short-header', ok(w.headerHex.slice(0, 100))],
      ['object-result', ok({ hex: w.headerHex })],
    ],
    getrawtransaction: [
      ['other-tx-hex', ok({ txid: w.txid, hex: w.otherTxHex, blockhash: w.tipHash, confirmations: 1 })],
      ['txid-mismatch', ok({ txid: w.otherTxid, hex: w.txHex, blockhash: w.tipHash, confirmations: 1 })],
      ['not-a-tx', ok({ txid: w.txid, hex: rng.hex(rng.range(1, 100)), confirmations: 0 })],
      ['drop-hex', ok({ txid: w.txid, confirmations: 0 })],
      ['bad-blockhash', ok({ txid: w.txid, hex: w.txHex, blockhash: 'nope', confirmations: 1 })],
    ],
    gettxout: [
      ['bad-value', ok({ bestblock: w.tipHash, confirmations: 1, value: -1 })],
      ['bad-bestblock', ok({ bestblock: 'x', confirmations: 1, value: 0.0015 })],
      ['string-result', ok('unspent')],
    ],
    listunspent: [
      ['other-script', ok([{ txid: w.txid, vout: 0, address: w.address, scriptPubKey: '0014' + '00'.repeat(20), amount: 0.0015, confirmations: 1 }])],
      ['bad-amount', ok([{ txid: w.txid, vout: 0, address: w.address, scriptPubKey: w.script, amount: -0.1, confirmations: 1 }])],
      ['amount-not-in-tx', ok([{ txid: w.txid, vout: 0, address: w.address, scriptPubKey: w.script, amount: 0.0009, confirmations: 1 }])],
      ['no-such-output', ok([{ txid: w.txid, vout: 3, address: w.address, scriptPubKey: w.script, amount: 0.0015, confirmations: 1 }])],
      ['not-a-list', ok({ txid: w.txid })],
    ],
    gettransaction: [
      ['other-tx-hex', ok({ txid: w.txid, hex: w.otherTxHex, confirmations: 1, blockhash: w.tipHash, blockheight: HEIGHT, blocktime: TIME })],
      ['txid-mismatch', ok({ txid: w.otherTxid, hex: w.txHex, confirmations: 1, blockhash: w.tipHash, blockheight: HEIGHT, blocktime: TIME })],
      ['confirmed-without-block', ok({ txid: w.txid, hex: w.txHex, confirmations: 1 })],
      ['drop-hex', ok({ txid: w.txid, confirmations: 0 })],
    ],
    estimatesmartfee: [
      ['negative', ok({ feerate: -0.0001, blocks: 2 })],
      ['absurd', ok({ feerate: 11, blocks: 2 })],
      ['string-rate', ok({ feerate: '0.0001', blocks: 2 })],
      ['bad-errors', ok({ errors: 'none', blocks: 2 })],
    ],
    sendrawtransaction: [
      ['other-txid', ok(w.otherTxid)],
      ['not-hash', ok('accepted')],
      ['object-result', ok({ txid: w.txid })],
    ],
  };
  const [op, make] = rng.pick([...transport, ...(per[method] ?? [])]);
  return { op, reply: make };
}

export function bitcoindCase(w: ChainWorld, rng: Prng): FuzzCase {
  const name = rng.pick(Object.keys(BITCOIND_CALLS).sort());
  const { methods, call } = BITCOIND_CALLS[name]!;
  const target = rng.pick(methods);
  let lastId = 0;
  const bad = bitcoindCorruption(target, w, rng, () => lastId, name === 'getBlockHeaderByHeight');
  const results = rpcResults(w);
  return {
    target: 'bitcoind',
    subject: name,
    op: `${target}:${bad.op}`,
    detail: '',
    run: () =>
      judgeCall(() =>
        withFetch(
          (_m, _url, body) => {
            const req = JSON.parse(body) as { id: number; method: string; params: unknown[] };
            lastId = req.id;
            const key = req.method === 'getblockheader' && req.params[1] === false ? 'getblockheader-raw' : req.method;
            if (key === target) return bad.reply();
            const f = results[req.method];
            return f ? json({ result: f(req.params), error: null, id: req.id }) : json({ result: null, error: { code: -32601, message: 'Method not found' }, id: req.id });
          },
          () => call(new BitcoindChainSource({ url: 'http://127.0.0.1:18443', network: 'regtest', user: 'u', password: 'p', wallet: 'metanode', timeoutMs: 2_000 }), w),
        ),
      ),
  };
}

/** Refused with a MetanodeError (its code and the start of its message) or a failure. */
async function judgeCall(fn: () => Promise<unknown>): Promise<FuzzOutcome> {
  try {
    const v = await fn();
    return { ok: false, failure: `accepted: returned ${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))?.slice(0, 200)}` };
  } catch (e) {
    if (!isMetanodeError(e)) return { ok: false, failure: `crash: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` };
    // The gist: the adapter's own words without the code prefix and the schema issue list.
    const gist = e.message.replace(/^[A-Z_]+: /, '').replace(/ \(.*$/, '').replace(/: HTTP \d+.*$/, ': HTTP error');
    return { ok: true, reason: `${e.code}: ${gist}` };
  }
}

/** Sanity: in the unchanged world every call succeeds (else refusals prove nothing). */
export async function chainWorldProblems(w: ChainWorld): Promise<string[]> {
  const problems: string[] = [];
  const table = esploraRoutes(w);
  const base = 'http://127.0.0.1:3002';
  for (const [name, { call }] of Object.entries(ESPLORA_CALLS)) {
    try {
      await withFetch(
        (method, url) => table.find((x) => x.match(method, url.slice(base.length)))?.reply() ?? { status: 404, text: '' },
        () => call(new EsploraChainSource({ baseUrl: base, network: 'regtest' }), w),
      );
    } catch (e) {
      problems.push(`esplora ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const results = rpcResults(w);
  for (const [name, { call }] of Object.entries(BITCOIND_CALLS)) {
    try {
      await withFetch(
        (_m, _u, body) => {
          const req = JSON.parse(body) as { id: number; method: string; params: unknown[] };
          return json({ result: results[req.method]!(req.params), error: null, id: req.id });
        },
        () => call(new BitcoindChainSource({ url: 'http://127.0.0.1:18443', network: 'regtest', user: 'u', password: 'p', wallet: 'metanode' }), w),
      );
    } catch (e) {
      problems.push(`bitcoind ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return problems;
}
