// The custody candidate: the one transaction a round tries to sign, built deterministically from
// a view so that honest nodes holding the same view produce byte-identical transactions.
//
// Decisions (also in the README design section):
// - View. Chain data as of the anchor height (the highest tip at least t peers reached, from
//   pings): a UTXO counts only if confirmed at a height <= anchor, and a deposit only with
//   anchor - height + 1 >= custody.minConfirmations. Transfer requests count only if created at or
//   before roundStart - replicationDelay, so every node has had time to receive them.
// - Transfer = a request whose confirmed deposits sum to >= its amount and that has not expired at
//   the round start. Payout = amount - transferFee; deposits beyond the amount are refunded
//   (minus transferFee) when the excess is above dust, otherwise they stay in the vault.
// - Refund = every deposit of a request that expired unpaid (or whose payout would be dust), and
//   deposits matching no known request that carry a refund address and have waited
//   `orphanRefundAfterBlocks` confirmations (a request may just be late to replicate). Refund =
//   value - transferFee; a refund below dust is swept to the vault. A deposit to a request expired
//   at the round start counts only once the anchor reached its slot height (one block in
//   `lateDepositEveryBlocks`, src/custody/late-deposits.ts): nodes read expired requests'
//   addresses only there, so before it some nodes may not know the deposit.
// - Rewards (src/custody/rewards.ts): the caller passes the reward balances due, derived from the
//   chain (the reward ledger); each becomes one output to the participant's reward address, ordered
//   like every output. Only to peers of the participant table, and to leavers (members of earlier
//   committees of the key's lineage, at the address of their newest record, src/custody/leavers.ts)
//   with the same view of the records; only when the output's script is
//   unique in the transaction (so the ledger can read it back from the chain), never in a sweep of
//   an earlier epoch; a replacement repeats the replaced transaction's reward outputs. All omitted
//   when the vault cannot pay them with the fee.
// - One OP_RETURN: 'MNC2' || round id (u64 BE) || epoch (u32 BE) || sha512_256 checksum of the
//   participant table. The epoch names the committee the transaction's rewards accrue to.
// - Change back to the current vault address when >= dust, else it goes to the miner.
// - Fee: ceil(vsize * feeRate), feeRate clamped to [feeRateMin, feeRateMax]; vsize is computed
//   exactly for key-path P2TR inputs (64-byte BIP340 signature, SIGHASH_DEFAULT).
// - Canonical order (BIP69): inputs by txid (display hex) then vout; outputs by amount then
//   scriptPubKey bytes. nVersion 2, nLockTime = anchor height (deterministic and anti fee
//   sniping), nSequence 0xfffffffd on every input (opt-in RBF).
// - Replacement (RBF): with `replace`, the candidate spends exactly the replaced transaction's
//   inputs, pays the transfers whose deposits are among them, and pays a strictly higher fee rate
//   (at least +1 sat/vB, so the absolute fee rises by >= vsize sats as BIP125 asks).
import { sha512_256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { Script, Transaction } from '@scure/btc-signer';
import type { Network } from '../chain/types.js';
import type { EpochKey } from '../crypto/types.js';
import { depositTweak, scriptFromAddress, scriptPubKeyFor } from '../crypto/taproot.js';
import { MetanodeError } from '../util/errors.js';
import type { TransferRequest as StoredTransferRequest } from './requests-schema.js';
import { lateDepositVisible } from './late-deposits.js';
import { rewardsDueAt, type RewardDue, type RewardLedgerView } from './reward-balance.js';

export const RBF_SEQUENCE = 0xfffffffd;
export const COMMITMENT_TAG = 'MNC2';
/** Commitments written before the epoch was carried (round id and checksum only). */
export const COMMITMENT_TAG_V1 = 'MNC1';
export const DEFAULT_DUST_SATS = 330n; // P2TR dust limit at the default 3 sat/vB dust relay fee

export interface TransferRequest {
  id: string;
  amount: bigint;
  destination: string; // address on the network
  refundAddress: string;
  createdAt: number; // unix ms, as recorded in the replicated store
  expiresAt: number; // unix ms
}

export interface Outpoint {
  txid: string; // display hex
  vout: number;
}

export interface VaultUtxo extends Outpoint {
  value: bigint;
  scriptPubKey: string;
  /** Confirmation height; unconfirmed outputs are not passed in. */
  height: number;
}

export interface DepositUtxo extends VaultUtxo {
  /** Request the deposit address belongs to, or null when no known request matches. */
  requestId: string | null;
  /** For unmatched deposits: where to send them back (from the funding transaction). */
  refundAddress?: string;
}

export interface RewardPeer {
  peerId: string;
  rewardAddress: string;
}

export interface ReplaceSpec {
  txid: string;
  inputs: Outpoint[];
  feeRate: number;
  /** Transfers the replaced transaction pays; the replacement pays exactly these. */
  transferIds: string[];
  /**
   * The replaced transaction's reward outputs (src/custody/rewards.ts analyzeCustodyTx): the
   * replacement repeats them, so it pays what the original paid and never less fee (BIP125).
   */
  rewards?: RewardOutput[];
}

/** A reward output as read from a custody transaction. */
export interface RewardOutput {
  peerId: string;
  script: string;
  amount: bigint;
}

export interface CandidateView {
  key: EpochKey;
  roundId: number;
  roundStartMs: number;
  anchorHeight: number;
  /**
   * Highest height the UTXO and deposit lists are complete up to (the node's scanned tip);
   * default anchorHeight. Lists may hold entries above the anchor: they are filtered by it.
   */
  maxAnchorHeight?: number;
  requests: TransferRequest[];
  vaultUtxos: VaultUtxo[];
  deposits: DepositUtxo[];
  /** Participant peer table (who may get rewards; its checksum goes into the OP_RETURN). */
  peers: RewardPeer[];
  /** The reward ledger (src/custody/rewards.ts); balances due at the anchor go to participants and leavers. */
  rewards?: RewardLedgerView;
  /**
   * Leavers of the key's epoch with the reward address their newest record in its lineage carries
   * (src/custody/leavers.ts): a balance due to one of them is paid there. Entries naming a
   * participant are ignored (a participant is paid at its participant-table address).
   */
  leavers?: RewardPeer[];
  /** Transfers that must not be paid again (in flight or paid). */
  excludedTransfers?: string[];
  /** Outpoints spent by our unconfirmed custody transactions; never spent twice. */
  lockedOutpoints?: Outpoint[];
  /** sat/vB estimate; clamped to the configured bounds. */
  feeRate: number;
  replace?: ReplaceSpec;
  /**
   * Sweep of an earlier epoch (DESIGN §4): `key` is that epoch's key, change goes to this
   * scriptPubKey (the current vault) and a candidate exists even without a transfer.
   */
  sweepTo?: string;
}

export interface CandidateParams {
  minConfirmations: number;
  replicationDelayMs: number;
  transferFee: bigint;
  feeRateMin: number;
  feeRateMax: number;
  dustSats?: bigint;
  orphanRefundAfterBlocks?: number;
  /** custody.lateDepositEveryBlocks (default 1: every deposit counts at its height). */
  lateDepositEveryBlocks?: number;
}

/** Restriction used when a node adopts another candidate's content (see chooseCandidate). */
export interface CandidateRestriction {
  transferIds: string[];
  refunds: string[]; // outpoint strings
  feeRate: number;
}

export type InputKind = 'vault' | 'deposit';
export interface CandidateInput extends Outpoint {
  value: bigint;
  scriptPubKey: string;
  kind: InputKind;
  /** Deposit tweak (hex) for deposit inputs; absent = the vault key itself. */
  tweak?: string;
  requestId?: string;
}

export type OutputKind = 'payout' | 'refund' | 'reward' | 'change' | 'commitment';
export interface CandidateOutput {
  kind: OutputKind;
  script: string;
  amount: bigint;
  requestId?: string;
  peerId?: string;
}

export interface Candidate {
  roundId: number;
  anchorHeight: number;
  feeRate: number;
  fee: bigint;
  vsize: number;
  inputs: CandidateInput[]; // canonical order = tx input order
  outputs: CandidateOutput[]; // canonical order = tx output order
  transferIds: string[]; // sorted
  refunds: string[]; // refunded deposit outpoints 'txid:vout', sorted
  peerTableChecksum: string;
  replaces?: string;
  /** Unsigned transaction, hex. */
  unsignedTx: string;
  txid: string;
  /** tx_sign_doc (hex) and its sha512_256 (hex). */
  doc: string;
  docHash: string;
  /** BIP341 sighash (SIGHASH_DEFAULT) per input, hex. */
  sighashes: string[];
}

/**
 * Anchor height: the highest tip height that at least `threshold` peers have reached, from the
 * tips their pings report (own tip included by the caller). null when fewer than t tips are known.
 * Every honest node with the same ping view computes the same height, and t of them can serve
 * the chain as of that height.
 */
export function anchorHeight(tips: number[], threshold: number): number | null {
  const valid = tips.filter((h) => Number.isSafeInteger(h) && h >= 0).sort((a, b) => b - a);
  if (threshold < 1 || valid.length < threshold) return null;
  return valid[threshold - 1]!;
}

/** Maps a record of the replicated request store (src/custody/requests.ts) to the candidate's view. */
export function fromStoredRequest(r: StoredTransferRequest): TransferRequest {
  return {
    id: r.id,
    amount: r.amountSats,
    destination: r.payoutAddress,
    refundAddress: r.refundAddress,
    createdAt: r.timestamp,
    expiresAt: r.expiry * 1000,
  };
}

export function outpointKey(o: Outpoint): string {
  return `${o.txid}:${o.vout}`;
}

function fail(message: string, detail?: Record<string, unknown>): never {
  throw new MetanodeError('INVALID_INPUT', message, [], detail);
}

/** sha512_256 over "peerId rewardAddress\n" lines sorted by peer id. */
export function peerTableChecksum(peers: RewardPeer[]): string {
  const lines = [...peers]
    .map((p) => `${p.peerId} ${p.rewardAddress}\n`)
    .sort();
  return bytesToHex(sha512_256(utf8ToBytes(lines.join(''))));
}

export function commitmentScript(roundId: number, epoch: number, checksum: string): string {
  if (!Number.isSafeInteger(roundId) || roundId < 0) fail(`round id must be a non-negative integer`);
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffffffff) fail(`epoch must be a u32`);
  const rid = new Uint8Array(8);
  new DataView(rid.buffer).setBigUint64(0, BigInt(roundId));
  const ep = new Uint8Array(4);
  new DataView(ep.buffer).setUint32(0, epoch);
  const data = concatBytes(utf8ToBytes(COMMITMENT_TAG), rid, ep, hexToBytes(checksum));
  return bytesToHex(Script.encode(['RETURN', data]));
}

/** What a custody commitment output carries; null for any other script. epoch is null in an MNC1 commitment. */
export function parseCommitment(scriptHex: string): { roundId: number; epoch: number | null } | null {
  const v2 = '6a30' + bytesToHex(utf8ToBytes(COMMITMENT_TAG));
  const v1 = '6a2c' + bytesToHex(utf8ToBytes(COMMITMENT_TAG_V1));
  const isV2 = scriptHex.length === 4 + 96 && scriptHex.startsWith(v2);
  if (!isV2 && !(scriptHex.length === 4 + 88 && scriptHex.startsWith(v1))) return null;
  const at = v2.length; // both prefixes have the same length
  const id = BigInt('0x' + scriptHex.slice(at, at + 16));
  if (id > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return { roundId: Number(id), epoch: isV2 ? parseInt(scriptHex.slice(at + 16, at + 24), 16) : null };
}

/** The round id a custody commitment output (commitmentScript) carries, or null for any other script. */
export function commitmentRoundId(scriptHex: string): number | null {
  return parseCommitment(scriptHex)?.roundId ?? null;
}

function varintLen(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
}

/** Exact vsize of a transaction whose inputs are all P2TR key-path spends with a 64-byte signature. */
export function estimateVsize(nInputs: number, outputScripts: string[]): number {
  const outBytes = outputScripts.reduce((s, h) => s + 8 + varintLen(h.length / 2) + h.length / 2, 0);
  const base = 4 + varintLen(nInputs) + nInputs * 41 + varintLen(outputScripts.length) + outBytes + 4;
  const witness = 2 + nInputs * (1 + 1 + 64); // marker+flag; per input: item count, length, sig
  return Math.ceil((base * 4 + witness) / 4);
}

function compareHex(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareInputs(a: Outpoint, b: Outpoint): number {
  return compareHex(a.txid, b.txid) || a.vout - b.vout;
}

export function compareOutputs(a: { amount: bigint; script: string }, b: { amount: bigint; script: string }): number {
  return a.amount < b.amount ? -1 : a.amount > b.amount ? 1 : compareHex(a.script, b.script);
}

function clampFeeRate(rate: number, p: CandidateParams): number {
  if (!Number.isFinite(rate) || rate <= 0) return p.feeRateMin;
  return Math.min(p.feeRateMax, Math.max(p.feeRateMin, rate));
}

function tryScript(address: string, network: Network): string | null {
  try {
    return scriptFromAddress(address, network);
  } catch {
    return null;
  }
}

function validateParams(p: CandidateParams): void {
  if (!Number.isInteger(p.minConfirmations) || p.minConfirmations < 1) fail('custody.minConfirmations must be an integer >= 1');
  if (!Number.isFinite(p.replicationDelayMs) || p.replicationDelayMs < 0) fail('replicationDelayMs must be >= 0');
  if (p.transferFee < 0n) fail('transferFee must be >= 0');
  if (!(p.feeRateMin > 0) || !(p.feeRateMax >= p.feeRateMin)) fail('fee rate bounds must satisfy 0 < feeRateMin <= feeRateMax');
  if (p.lateDepositEveryBlocks !== undefined && (!Number.isInteger(p.lateDepositEveryBlocks) || p.lateDepositEveryBlocks < 1)) fail('lateDepositEveryBlocks must be an integer >= 1');
}

/**
 * Builds the deterministic custody candidate for a view, or null when there is no transfer to
 * pay (no transfer, no round) or the funds cannot cover it.
 */
export function buildCandidate(view: CandidateView, params: CandidateParams, only?: CandidateRestriction): Candidate | null {
  validateParams(params);
  const dust = params.dustSats ?? DEFAULT_DUST_SATS;
  const { key, anchorHeight } = view;
  const network = key.network;
  const vaultScript = scriptPubKeyFor(key);
  const locked = new Set((view.lockedOutpoints ?? []).map(outpointKey));
  const excluded = new Set(view.excludedTransfers ?? []);
  const confirmedAtAnchor = (u: VaultUtxo, minConf: number) => u.height > 0 && u.height <= anchorHeight && anchorHeight - u.height + 1 >= minConf;

  const inputs = new Map<string, CandidateInput>();
  const outputs: CandidateOutput[] = [];
  const transferIds: string[] = [];
  const refunds: string[] = [];
  const onlyTransfers = only ? new Set(only.transferIds) : null;
  const onlyRefunds = only ? new Set(only.refunds) : null;

  const replaceSet = view.replace ? new Set(view.replace.inputs.map(outpointKey)) : null;
  const usable = (o: Outpoint) => (replaceSet ? replaceSet.has(outpointKey(o)) : !locked.has(outpointKey(o)));

  const requests = new Map<string, TransferRequest>();
  for (const r of view.requests) requests.set(r.id, r);

  // Deposits grouped by request; only confirmed-at-anchor deposits whose script really is the
  // request's deposit script (the watcher's match is re-checked, it costs one hash).
  const byRequest = new Map<string, DepositUtxo[]>();
  const lateEvery = params.lateDepositEveryBlocks ?? 1;
  const orphans: DepositUtxo[] = [];
  const seenOutpoints = new Set<string>();
  for (const d of view.deposits) {
    const k = outpointKey(d);
    if (seenOutpoints.has(k) || !usable(d) || !confirmedAtAnchor(d, params.minConfirmations)) continue;
    seenOutpoints.add(k);
    const req = d.requestId !== null ? requests.get(d.requestId) : undefined;
    if (req && req.createdAt <= view.roundStartMs - params.replicationDelayMs) {
      if (d.scriptPubKey !== scriptPubKeyFor(key, depositTweak(key, req.id))) continue;
      // Expired: its address is read at its slot heights only; wait until every node read it.
      if (lateEvery > 1 && req.expiresAt <= view.roundStartMs && !replaceSet?.has(k) && !lateDepositVisible(d.height, req.id, anchorHeight, lateEvery)) continue;
      const list = byRequest.get(req.id) ?? [];
      list.push(d);
      byRequest.set(req.id, list);
    } else if (!req && d.requestId !== null) {
      const orphanAge = params.orphanRefundAfterBlocks ?? Number.POSITIVE_INFINITY;
      if (anchorHeight - d.height + 1 >= orphanAge) orphans.push(d);
    }
  }

  const addDeposit = (d: DepositUtxo, requestId: string) => {
    inputs.set(outpointKey(d), {
      txid: d.txid, vout: d.vout, value: d.value, scriptPubKey: d.scriptPubKey, kind: 'deposit',
      tweak: depositTweak(key, requestId), requestId,
    });
  };
  const refund = (d: DepositUtxo, requestId: string, address: string | undefined, amount: bigint) => {
    const script = address ? tryScript(address, network) : null;
    if (script === null) return false;
    if (onlyRefunds && !onlyRefunds.has(outpointKey(d))) return false;
    addDeposit(d, requestId);
    refunds.push(outpointKey(d));
    const value = amount - params.transferFee;
    if (value >= dust) outputs.push({ kind: 'refund', script, amount: value, requestId });
    return true;
  };

  for (const [reqId, deps] of [...byRequest.entries()].sort((a, b) => compareHex(a[0], b[0]))) {
    const req = requests.get(reqId)!;
    const total = deps.reduce((s, d) => s + d.value, 0n);
    const payout = req.amount - params.transferFee;
    const expired = req.expiresAt <= view.roundStartMs;
    const inReplaced = view.replace ? view.replace.transferIds.includes(reqId) : false;
    if (excluded.has(reqId) && !inReplaced) continue;
    const destScript = tryScript(req.destination, network);
    const payable = total >= req.amount && payout >= dust && destScript !== null && (view.replace ? inReplaced : !expired);
    if (payable) {
      if (onlyTransfers && !onlyTransfers.has(reqId)) continue;
      deps.forEach((d) => addDeposit(d, reqId));
      transferIds.push(reqId);
      outputs.push({ kind: 'payout', script: destScript!, amount: payout, requestId: reqId });
      const excess = total - req.amount - params.transferFee;
      const refundScript = tryScript(req.refundAddress, network);
      if (excess >= dust && refundScript !== null) outputs.push({ kind: 'refund', script: refundScript, amount: excess, requestId: reqId });
    } else if (inReplaced) {
      return null; // the replaced payout can no longer be rebuilt from this view
    } else if (expired || (total >= req.amount && (payout < dust || destScript === null))) {
      for (const d of deps) refund(d, reqId, req.refundAddress, d.value);
    }
  }
  for (const d of orphans.sort(compareInputs)) refund(d, d.requestId!, d.refundAddress, d.value);

  if (transferIds.length === 0 && view.sweepTo === undefined) return null;
  if (replaceSet) {
    // A replacement spends exactly the replaced inputs: vault inputs come from the view.
    for (const u of view.vaultUtxos) if (replaceSet.has(outpointKey(u))) addVault(u);
    if (inputs.size !== replaceSet.size) return null; // some replaced input is unknown or unconfirmed
  } else {
    const seenVault = new Set<string>();
    for (const u of view.vaultUtxos) {
      const k = outpointKey(u);
      if (seenVault.has(k) || inputs.has(k) || !usable(u) || !confirmedAtAnchor(u, 1) || u.scriptPubKey !== vaultScript) continue;
      seenVault.add(k);
      addVault(u);
    }
  }
  if (inputs.size === 0) return null;
  const changeScript = view.sweepTo ?? vaultScript;
  function addVault(u: VaultUtxo) {
    inputs.set(outpointKey(u), { txid: u.txid, vout: u.vout, value: u.value, scriptPubKey: u.scriptPubKey, kind: 'vault' });
  }

  let feeRate = clampFeeRate(only ? only.feeRate : view.feeRate, params);
  if (view.replace) {
    feeRate = Math.max(feeRate, view.replace.feeRate + 1);
    if (feeRate > params.feeRateMax) return null;
  }

  const checksum = peerTableChecksum(view.peers);
  const commitment: CandidateOutput = { kind: 'commitment', script: commitmentScript(view.roundId, key.epoch, checksum), amount: 0n };
  const rewards: CandidateOutput[] = view.replace
    ? // One output per script: the read-back lists an output once per peer owning its script.
      [...new Map((view.replace.rewards ?? []).map((r) => [r.script, r] as const)).values()].map((r) => ({ kind: 'reward', script: r.script, amount: r.amount, peerId: r.peerId }))
    : view.sweepTo !== undefined ? [] : rewardOutputs(view, [...outputs.map((o) => o.script), changeScript], dust);

  const totalIn = [...inputs.values()].reduce((s, i) => s + i.value, 0n);
  const tryBuild = (withRewards: boolean): { outs: CandidateOutput[]; fee: bigint; vsize: number } | null => {
    const base = [...outputs, commitment, ...(withRewards ? rewards : [])];
    const spent = base.reduce((s, o) => s + o.amount, 0n);
    const withChange = [...base.map((o) => o.script), changeScript];
    const vsizeC = estimateVsize(inputs.size, withChange);
    const feeC = BigInt(Math.ceil(vsizeC * feeRate));
    const change = totalIn - spent - feeC;
    if (change >= dust) return { outs: [...base, { kind: 'change', script: changeScript, amount: change }], fee: feeC, vsize: vsizeC };
    const vsizeN = estimateVsize(inputs.size, base.map((o) => o.script));
    const feeN = BigInt(Math.ceil(vsizeN * feeRate));
    if (totalIn - spent < feeN) return null;
    return { outs: base, fee: totalIn - spent, vsize: vsizeN };
  };
  const built = (rewards.length ? tryBuild(true) : null) ?? tryBuild(false);
  if (!built) return null;

  const ins = [...inputs.values()].sort(compareInputs);
  const outs = built.outs.sort(compareOutputs);
  const tx = new Transaction({ version: 2, lockTime: anchorHeight, allowUnknownOutputs: true });
  for (const i of ins) {
    tx.addInput({ txid: i.txid, index: i.vout, sequence: RBF_SEQUENCE, witnessUtxo: { script: hexToBytes(i.scriptPubKey), amount: i.value } });
  }
  for (const o of outs) tx.addOutput({ script: hexToBytes(o.script), amount: o.amount });
  const unsignedTx = bytesToHex(tx.unsignedTx);
  const doc = encodeSignDoc(unsignedTx, ins);
  return {
    roundId: view.roundId,
    anchorHeight,
    feeRate,
    fee: built.fee,
    vsize: built.vsize,
    inputs: ins,
    outputs: outs,
    transferIds: transferIds.sort(),
    refunds: refunds.sort(),
    peerTableChecksum: checksum,
    ...(view.replace ? { replaces: view.replace.txid } : {}),
    unsignedTx,
    txid: tx.id,
    doc,
    docHash: bytesToHex(sha512_256(hexToBytes(doc))),
    sighashes: sighashesOf(tx, ins),
  };
}

/**
 * One output per reward due to a participant or a leaver: its whole balance (>= dust) to its
 * reward address (participant table; a leaver's record), when that script appears nowhere else in
 * the transaction (the ledger reads a reward back from the chain by its script,
 * src/custody/rewards.ts).
 */
function rewardOutputs(view: CandidateView, otherScripts: string[], dust: bigint): CandidateOutput[] {
  const addressOf = new Map(view.peers.map((p) => [p.peerId, p.rewardAddress]));
  for (const l of view.leavers ?? []) if (!addressOf.has(l.peerId)) addressOf.set(l.peerId, l.rewardAddress);
  const due = (view.rewards ? rewardsDueAt(view.rewards, view.anchorHeight) : [])
    .filter((r) => r.amount >= dust && addressOf.has(r.peerId))
    .map((r) => ({ r, script: tryScript(addressOf.get(r.peerId)!, view.key.network) }))
    .filter((x): x is { r: RewardDue; script: string } => x.script !== null);
  const uses = new Map<string, number>();
  for (const s of [...otherScripts, ...due.map((d) => d.script)]) uses.set(s, (uses.get(s) ?? 0) + 1);
  return due
    .filter((d) => uses.get(d.script) === 1)
    .sort((a, b) => compareHex(a.r.peerId, b.r.peerId))
    .map(({ r, script }) => ({ kind: 'reward', script, amount: r.amount, peerId: r.peerId }));
}

/**
 * tx_sign_doc: 'metanode/tx_sign_doc/1' || u32 len || unsigned tx || per input
 * (u64 amount LE || u16 script length || scriptPubKey || tweak flag || tweak). With the prevout
 * amounts and scripts every BIP341 sighash is fixed, and with the tweaks the signing keys are too.
 */
export function encodeSignDoc(unsignedTxHex: string, inputs: CandidateInput[]): string {
  const parts: Uint8Array[] = [utf8ToBytes('metanode/tx_sign_doc/1')];
  const u32 = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };
  const tx = hexToBytes(unsignedTxHex);
  parts.push(u32(tx.length), tx);
  for (const i of inputs) {
    const amt = new Uint8Array(8);
    new DataView(amt.buffer).setBigUint64(0, i.value, true);
    const spk = hexToBytes(i.scriptPubKey);
    const len = new Uint8Array(2);
    new DataView(len.buffer).setUint16(0, spk.length, true);
    parts.push(amt, len, spk, i.tweak ? concatBytes(new Uint8Array([1]), hexToBytes(i.tweak)) : new Uint8Array([0]));
  }
  return bytesToHex(concatBytes(...parts));
}

function sighashesOf(tx: Transaction, ins: CandidateInput[]): string[] {
  const scripts = ins.map((i) => hexToBytes(i.scriptPubKey));
  const amounts = ins.map((i) => i.value);
  return ins.map((_, idx) => bytesToHex(tx.preimageWitnessV1(idx, scripts, 0x00, amounts)));
}

/** Puts the 64-byte key-path signatures into the witnesses; returns the signed tx hex and txid. */
export function assembleSignedTx(c: Candidate, signatures: string[]): { hex: string; txid: string; vsize: number } {
  if (signatures.length !== c.inputs.length) fail(`need ${c.inputs.length} signatures, got ${signatures.length}`);
  const tx = Transaction.fromRaw(hexToBytes(c.unsignedTx), { allowUnknownOutputs: true, allowUnknownInputs: true });
  signatures.forEach((s, i) => {
    const sig = hexToBytes(s);
    if (sig.length !== 64) fail(`signature ${i} must be 64 bytes`);
    tx.updateInput(i, { finalScriptWitness: [sig] }, true);
  });
  return { hex: bytesToHex(tx.toBytes(true, true)), txid: tx.id, vsize: tx.vsize };
}

// ---- choosing among candidates ----------------------------------------------------------------

/** What a node announces about its candidate (sign.candidate message). */
export interface CandidateSummary {
  docHash: string;
  anchorHeight: number;
  feeRate: number;
  transferIds: string[];
  refunds: string[];
  replaces?: string;
}

export function summarize(c: Candidate): CandidateSummary {
  return {
    docHash: c.docHash,
    anchorHeight: c.anchorHeight,
    feeRate: c.feeRate,
    transferIds: c.transferIds,
    refunds: c.refunds,
    ...(c.replaces ? { replaces: c.replaces } : {}),
  };
}

export type Choice =
  | { kind: 'exact'; docHash: string; supporters: number; restriction: CandidateRestriction }
  | { kind: 'intersection'; restriction: CandidateRestriction }
  | { kind: 'none'; reason: string };

/**
 * The anchor height the round should build at: the height announced by the most candidates
 * (with a document), if at least `threshold` of them share it; ties go to the lower height,
 * which more nodes can serve. null when no height has t supporters. Every node that saw the same
 * announcements picks the same height, so nodes whose ping views were a block apart at the
 * round's start still end up comparing documents for one anchor.
 */
export function roundAnchor(announced: number[], threshold: number): number | null {
  const counts = new Map<number, number>();
  for (const h of announced) if (Number.isSafeInteger(h) && h >= 0) counts.set(h, (counts.get(h) ?? 0) + 1);
  const best = [...counts.entries()].filter(([, n]) => n >= threshold).sort((a, b) => b[1] - a[1] || a[0] - b[0])[0];
  return best ? best[0] : null;
}

/**
 * Which candidate to sign, from our own and those announced by peers (one per peer).
 * 1. Exact match: a document announced by at least `threshold` peers (us included) whose
 *    transfers and refunds are all valid in our view; the one with the most transfers wins
 *    (ties: more supporters, then the smaller doc hash).
 * 2. Otherwise the closest intersection: the transfers (and refunds) that at least `threshold`
 *    candidates contain and that our view validates, at the lower median fee rate.
 * Only candidates with our anchor height and replacement target are compared: the content must
 * be rebuildable from our own view. The caller rebuilds with the restriction and proposes that.
 */
export function chooseCandidate(own: CandidateSummary | null, seen: CandidateSummary[], threshold: number): Choice {
  if (!own) return { kind: 'none', reason: 'no-own-candidate' };
  const comparable = [own, ...seen].filter((s) => s.anchorHeight === own.anchorHeight && (s.replaces ?? '') === (own.replaces ?? ''));
  const validT = new Set(own.transferIds);
  const validR = new Set(own.refunds);
  const subsetOfOwn = (s: CandidateSummary) => s.transferIds.every((t) => validT.has(t)) && s.refunds.every((r) => validR.has(r));

  const groups = new Map<string, { s: CandidateSummary; n: number }>();
  for (const s of comparable) {
    const g = groups.get(s.docHash);
    if (g) g.n++;
    else groups.set(s.docHash, { s, n: 1 });
  }
  const exact = [...groups.values()]
    // A sweep of an earlier epoch (own candidate without transfers) may only match exactly.
    .filter((g) => g.n >= threshold && subsetOfOwn(g.s) && (g.s.transferIds.length > 0 || own.transferIds.length === 0))
    .sort((a, b) => b.s.transferIds.length - a.s.transferIds.length || b.n - a.n || compareHex(a.s.docHash, b.s.docHash));
  if (exact.length) {
    const g = exact[0]!;
    return { kind: 'exact', docHash: g.s.docHash, supporters: g.n, restriction: { transferIds: g.s.transferIds, refunds: g.s.refunds, feeRate: g.s.feeRate } };
  }
  const count = (pick: (s: CandidateSummary) => string[]) => {
    const m = new Map<string, number>();
    for (const s of comparable) for (const x of new Set(pick(s))) m.set(x, (m.get(x) ?? 0) + 1);
    return m;
  };
  const tc = count((s) => s.transferIds);
  const rc = count((s) => s.refunds);
  const transferIds = own.transferIds.filter((t) => (tc.get(t) ?? 0) >= threshold).sort();
  const refunds = own.refunds.filter((r) => (rc.get(r) ?? 0) >= threshold).sort();
  if (transferIds.length === 0) return { kind: 'none', reason: 'no-shared-transfer' };
  const rates = comparable.map((s) => s.feeRate).sort((a, b) => a - b);
  const feeRate = rates[Math.floor((rates.length - 1) / 2)]!;
  return { kind: 'intersection', restriction: { transferIds, refunds, feeRate } };
}
