// Reads what the balance sheet (./balance-sheet.ts) needs: every transaction of the best chain,
// walked block by block from an Esplora API (the devchain's, or any Esplora: each raw
// transaction is decoded here and must hash to its txid; input values come from the outputs
// this walk saw, never from the API's JSON), and what the nodes report over their HTTP APIs
// (requests from /v1/transfers, vaults and reward addresses from /v1/epochs, ledgers from
// /v1/rewards), merged over every node that answers.
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ApiClient } from '../cli/client.js';
import { httpRequest } from '../chain/http.js';
import { addressToScript } from '../chain/network.js';
import type { Network } from '../chain/types.js';
import { decodeTx } from '../chain/verify.js';
import { MetanodeError, errorMessage } from '../util/errors.js';
import type { RewardsView, TransferView } from '../api/types.js';
import { balanceSheet, type BalanceSheet, type ChainTx, type FederationBook, type KnownRequest, type LedgerReport } from './balance-sheet.js';

const NULL_TXID = '0'.repeat(64);
const HASH = /^[0-9a-f]{64}$/;

async function esploraGet(base: string, path: string, timeoutMs: number): Promise<string> {
  const what = `esplora ${path}`;
  const r = await httpRequest(base + path, { method: 'GET', timeoutMs, what });
  if (r.status !== 200) throw new MetanodeError('CHAIN_BAD_RESPONSE', `${what}: status ${r.status} (${r.text.slice(0, 200)})`);
  return r.text.trim();
}

/** Every transaction of the best chain up to its tip, in chain order. Throws if a reorg moved the chain under the walk. */
export async function readChain(esploraUrl: string, opts: { timeoutMs?: number } = {}): Promise<{ tipHeight: number; txs: ChainTx[] }> {
  const base = esploraUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const tipHeight = Number(await esploraGet(base, '/blocks/tip/height', timeoutMs));
  if (!Number.isSafeInteger(tipHeight) || tipHeight < 0) throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora tip height is not a whole number`);
  const outputs = new Map<string, Array<{ script: string; value: bigint }>>();
  const txs: ChainTx[] = [];
  let tipHash = '';
  for (let h = 0; h <= tipHeight; h++) {
    const hash = await esploraGet(base, `/block-height/${h}`, timeoutMs);
    if (!HASH.test(hash)) throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora block hash at ${h} is not 64 hex characters`);
    tipHash = hash;
    let txids: unknown;
    try {
      txids = JSON.parse(await esploraGet(base, `/block/${hash}/txids`, timeoutMs));
    } catch (e) {
      if (e instanceof MetanodeError) throw e;
      throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora txids of block ${hash} are not JSON`);
    }
    if (!Array.isArray(txids) || !txids.every((t) => typeof t === 'string' && HASH.test(t))) throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora txids of block ${hash} are not a list of txids`);
    for (const txid of txids as string[]) {
      const tx = decodeTx(await esploraGet(base, `/tx/${txid}/hex`, timeoutMs), 'CHAIN_BAD_RESPONSE', `esplora tx ${txid}`);
      if (tx.id !== txid) throw new MetanodeError('CHAIN_BAD_RESPONSE', `esplora returned transaction ${tx.id} when asked for ${txid}`);
      const outs = Array.from({ length: tx.outputsLength }, (_, i) => ({ script: bytesToHex(tx.getOutput(i).script!), value: tx.getOutput(i).amount! }));
      outputs.set(txid, outs);
      const inputs = Array.from({ length: tx.inputsLength }, (_, i) => {
        const inp = tx.getInput(i);
        const prevTxid = bytesToHex(inp.txid!);
        const vout = inp.index!;
        if (prevTxid === NULL_TXID) return { txid: prevTxid, vout, prevout: null };
        const prev = outputs.get(prevTxid)?.[vout];
        if (!prev) throw new MetanodeError('CHAIN_BAD_RESPONSE', `tx ${txid} at height ${h} spends ${prevTxid}:${vout}, not an output of an earlier transaction of the chain`);
        return { txid: prevTxid, vout, prevout: prev };
      });
      txs.push({ txid, height: h, inputs, outputs: outs });
    }
  }
  const after = await esploraGet(base, `/block-height/${tipHeight}`, timeoutMs);
  if (after !== tipHash) throw new MetanodeError('CHAIN_UNAVAILABLE', `the chain reorganised at height ${tipHeight} during the walk; read it again`);
  return { tipHeight, txs };
}

export interface AuditNode {
  name: string;
  api: ApiClient;
}

interface EpochsJson {
  epochs: Array<{ record: { vaultAddress: string; committee: Array<{ peerId: string; rewardAddress?: string }> }; vaultAddress?: string }>;
}

/** The requests, vaults, reward addresses and ledgers every answering node reports, merged. Throws when none answers. */
export async function readBook(nodes: AuditNode[], network: Network): Promise<FederationBook & { silent: string[] }> {
  const requests = new Map<string, KnownRequest>();
  const vaultScripts = new Set<string>();
  const rewardScripts = new Map<string, string[]>();
  const ledgers: LedgerReport[] = [];
  const fees = new Set<string>();
  const silent: string[] = [];
  for (const n of nodes) {
    let transfers: TransferView[], epochs: EpochsJson, rewards: RewardsView;
    try {
      [transfers, epochs, rewards] = await Promise.all([n.api.get<TransferView[]>('/v1/transfers', { limit: 1000 }), n.api.get<EpochsJson>('/v1/epochs'), n.api.get<RewardsView>('/v1/rewards')]);
    } catch (e) {
      silent.push(`${n.name}: ${errorMessage(e)}`);
      continue;
    }
    if (!Array.isArray(transfers) || !Array.isArray(epochs?.epochs) || !Array.isArray(rewards?.peers)) {
      silent.push(`${n.name}: /v1/transfers, /v1/epochs or /v1/rewards answered something else than the API's shape`);
      continue;
    }
    for (const t of transfers) {
      const r = t.request;
      requests.set(r.id, {
        id: r.id,
        amount: BigInt(r.amountSats),
        depositScript: addressToScript(r.depositAddress, network),
        payoutScript: addressToScript(r.payoutAddress, network),
        refundScript: addressToScript(r.refundAddress, network),
      });
    }
    for (const e of epochs.epochs) {
      vaultScripts.add(addressToScript(e.record.vaultAddress, network));
      for (const m of e.record.committee) {
        if (!m.rewardAddress) continue;
        const script = addressToScript(m.rewardAddress, network);
        const peers = rewardScripts.get(script) ?? [];
        if (!peers.includes(m.peerId)) rewardScripts.set(script, [...peers, m.peerId]);
      }
    }
    fees.add(rewards.transferFeeSats);
    ledgers.push({ node: n.name, complete: rewards.complete, paid: new Map(rewards.peers.map((p) => [p.peerId, BigInt(p.paidSats)])) });
  }
  if (ledgers.length === 0) throw new MetanodeError('NODE_UNREACHABLE', `no node answered: ${silent.join('; ')}`);
  if (fees.size !== 1) throw new MetanodeError('INVALID_CONFIG', `the nodes report different transfer fees: ${[...fees].join(', ')}`);
  return { transferFee: BigInt([...fees][0]!), vaultScripts, requests: [...requests.values()], rewardScripts, ledgers, silent };
}

/**
 * The balance sheet of a federation: its nodes' reports, then the chain (read second, so every
 * coin the reports name is on it). With settleMs, read again (every second) while the sheet
 * shows a problem, for up to that long: a node's ledger may be a block behind the chain read.
 */
export async function auditFederation(opts: { esploraUrl: string; nodes: AuditNode[]; network: Network; settleMs?: number }): Promise<BalanceSheet & { silent: string[] }> {
  const end = Date.now() + (opts.settleMs ?? 0);
  for (;;) {
    const book = await readBook(opts.nodes, opts.network);
    const chain = await readChain(opts.esploraUrl);
    const sheet = { ...balanceSheet(chain.txs, book, chain.tipHeight), silent: book.silent };
    if (sheet.problems.length === 0 || Date.now() >= end) return sheet;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
