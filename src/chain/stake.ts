/**
 * Operator stake on Bitcoin.
 *
 * Stake transaction format (version 1):
 *
 *   output 0   the stake: at least `stake.minSats`, to any standard script the operator controls
 *              (P2TR, P2WPKH, P2WSH, P2PKH, P2SH). Spending it ("moving" the stake) ends it.
 *   one other  OP_RETURN output (value 0) whose single push is the commitment
 *
 *     'MNST' (4 bytes, ASCII) | version (1 byte, 0x01)
 *       | len(peerId) (1 byte) | peerId (libp2p multihash bytes of the node's peer id)
 *       | len(reward) (1 byte) | reward scriptPubKey (where the node's share of fees is paid)
 *
 *   For an Ed25519 peer id (38 bytes) and a P2TR reward script (34 bytes) the push is 79 bytes
 *   and the OP_RETURN script 82, within Bitcoin Core's 83-byte relay limit. A transaction with
 *   more than one MNST commitment is malformed.
 *
 * A stake is valid when its transaction is confirmed, the confirming block is still in the best
 * chain, the tip's block time is at least `minAgeSeconds` (72 h by default) past the confirming
 * block's time, output 0 is unspent (also not spent in the mempool), carries at least `minSats`,
 * and the commitment names the peer asking. Seniority is the confirmation height, oldest first,
 * ties broken by txid (lexicographic on the display hex).
 */
import * as btc from '@scure/btc-signer';
import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js';
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id';
import * as Digest from 'multiformats/hashes/digest';
import { MetanodeError } from '../util/errors.js';
import { addressToScript, btcNetwork, classifyScript, parsePushes, scriptToAddress } from './network.js';
import type { ChainSource, Network } from './types.js';
import { decodeTx } from './verify.js';

export const STAKE_MAGIC = new TextEncoder().encode('MNST');
export const STAKE_VERSION = 1;
export const DEFAULT_STAKE_MIN_AGE_SECONDS = 72 * 3600;

export interface StakeCommitment {
  version: number;
  peerId: string;
  rewardScript: string; // hex
  rewardAddress: string;
}

export type StakeRejection = 'too-small' | 'too-young' | 'moved' | 'unconfirmed' | 'wrong-peer' | 'malformed' | 'not-found';
export type StakeVerdict =
  | { valid: true; seniority: { height: number; txid: string }; amount: bigint; rewardAddress: string; confirmedAt: number }
  | { valid: false; reason: StakeRejection; detail: string };

function peerIdBytes(peerId: string): Uint8Array {
  try {
    return peerIdFromString(peerId).toMultihash().bytes;
  } catch {
    throw new MetanodeError('INVALID_INPUT', `not a libp2p peer id: ${JSON.stringify(peerId)}`);
  }
}

/** The OP_RETURN scriptPubKey committing to `peerId` and `rewardAddress`. */
export function stakeOpReturn(peerId: string, rewardAddress: string, network: Network): Uint8Array {
  const pid = peerIdBytes(peerId);
  const reward = hexToBytes(addressToScript(rewardAddress, network));
  if (pid.length > 255 || reward.length > 255) throw new MetanodeError('INVALID_INPUT', 'peer id or reward script too long');
  const payload = concatBytes(STAKE_MAGIC, new Uint8Array([STAKE_VERSION, pid.length]), pid, new Uint8Array([reward.length]), reward);
  const push = payload.length <= 75 ? new Uint8Array([payload.length]) : new Uint8Array([0x4c, payload.length]);
  const script = concatBytes(new Uint8Array([0x6a]), push, payload);
  if (classifyScript(script) !== 'nulldata') {
    throw new MetanodeError('INVALID_INPUT', `stake commitment is ${script.length} bytes, above the 83-byte OP_RETURN relay limit`);
  }
  return script;
}

/** Outputs of a stake transaction, in order: the stake, then the commitment. */
export function stakeOutputs(args: { stakeAddress: string; amount: bigint; peerId: string; rewardAddress: string; network: Network }): {
  script: string;
  value: bigint;
}[] {
  return [
    { script: addressToScript(args.stakeAddress, args.network), value: args.amount },
    { script: bytesToHex(stakeOpReturn(args.peerId, args.rewardAddress, args.network)), value: 0n },
  ];
}

/**
 * An unsigned stake transaction (scure Transaction, ready to sign and finalize) spending the given
 * coins: output 0 stake, output 1 commitment, output 2 change if above dust.
 */
export function buildStakeTx(args: {
  inputs: { txid: string; vout: number; value: bigint; scriptPubKey: string; tapInternalKey?: Uint8Array }[];
  stakeAddress: string;
  amount: bigint;
  peerId: string;
  rewardAddress: string;
  changeAddress: string;
  feeSats: bigint;
  network: Network;
}): btc.Transaction {
  const tx = new btc.Transaction({ allowUnknownOutputs: true });
  let total = 0n;
  for (const i of args.inputs) {
    total += i.value;
    tx.addInput({
      txid: hexToBytes(i.txid),
      index: i.vout,
      witnessUtxo: { amount: i.value, script: hexToBytes(i.scriptPubKey) },
      ...(i.tapInternalKey ? { tapInternalKey: i.tapInternalKey } : {}),
    });
  }
  for (const o of stakeOutputs(args)) tx.addOutput({ script: hexToBytes(o.script), amount: o.value });
  const change = total - args.amount - args.feeSats;
  if (change < 0n) throw new MetanodeError('INVALID_INPUT', `inputs (${total} sats) do not cover stake ${args.amount} plus fee ${args.feeSats}`);
  if (change >= 546n) tx.addOutputAddress(args.changeAddress, change, btcNetwork(args.network));
  return tx;
}

/** The stake commitment of a raw transaction, or a reason it has none. */
export function parseStakeCommitment(txHex: string, network: Network): { ok: true; commitment: StakeCommitment } | { ok: false; detail: string } {
  let tx: btc.Transaction;
  try {
    tx = decodeTx(txHex, 'INVALID_INPUT', 'stake tx');
  } catch {
    return { ok: false, detail: 'transaction does not decode' };
  }
  const found: Uint8Array[] = [];
  for (let i = 0; i < tx.outputsLength; i++) {
    const s = tx.getOutput(i).script!;
    if (s[0] !== 0x6a) continue;
    const pushes = parsePushes(s.subarray(1));
    if (pushes && pushes.length === 1 && pushes[0].length >= 4 && bytesToHex(pushes[0].subarray(0, 4)) === bytesToHex(STAKE_MAGIC)) found.push(pushes[0]);
  }
  if (found.length === 0) return { ok: false, detail: 'no MNST OP_RETURN commitment' };
  if (found.length > 1) return { ok: false, detail: 'more than one MNST commitment' };
  const p = found[0];
  if (p.length < 6 || p[4] !== STAKE_VERSION) return { ok: false, detail: `unsupported commitment version ${p[4]}` };
  const pidLen = p[5];
  if (p.length < 6 + pidLen + 1) return { ok: false, detail: 'commitment truncated in the peer id' };
  const pid = p.subarray(6, 6 + pidLen);
  const rLen = p[6 + pidLen];
  const reward = p.subarray(7 + pidLen);
  if (reward.length !== rLen) return { ok: false, detail: 'reward script length does not match' };
  let peerId: string;
  try {
    peerId = peerIdFromMultihash(Digest.decode(pid)).toString();
  } catch {
    return { ok: false, detail: 'peer id bytes are not a libp2p multihash' };
  }
  const rewardScript = bytesToHex(reward);
  const rewardAddress = scriptToAddress(rewardScript, network);
  if (!rewardAddress) return { ok: false, detail: 'reward script is not a standard address script' };
  return { ok: true, commitment: { version: p[4], peerId, rewardScript, rewardAddress } };
}

export async function verifyStake(
  chain: ChainSource,
  args: { outpoint: { txid: string; vout: number }; peerId: string; minSats: bigint; minAgeSeconds?: number; network: Network },
): Promise<StakeVerdict> {
  const { txid, vout } = args.outpoint;
  const minAge = args.minAgeSeconds ?? DEFAULT_STAKE_MIN_AGE_SECONDS;
  const no = (reason: StakeRejection, detail: string): StakeVerdict => ({ valid: false, reason, detail });
  if (!/^[0-9a-f]{64}$/.test(txid) || !Number.isInteger(vout) || vout < 0) return no('malformed', 'stake outpoint is not txid:vout');
  if (vout !== 0) return no('malformed', `the stake is output 0 of its transaction, not output ${vout}`);
  // Without a transaction index (Bitcoin Core without -txindex) the source finds the stake through
  // its unspent output; then a stake already spent is not found at all.
  const tx = await chain.getTx(txid, { unspentVout: 0 });
  if (!tx) return no('not-found', `stake transaction ${txid} is unknown to the chain source${chain.kind === 'bitcoind' ? ', or its output 0 is spent' : ''}`);
  const out = tx.vout[0];
  if (!out || classifyScript(hexToBytes(out.scriptPubKey)) === 'nulldata' || classifyScript(hexToBytes(out.scriptPubKey)) === 'nonstandard') {
    return no('malformed', 'output 0 is not a standard spendable output');
  }
  const c = parseStakeCommitment(tx.hex, args.network);
  if (!c.ok) return no('malformed', c.detail);
  if (c.commitment.peerId !== args.peerId) return no('wrong-peer', `stake commits to ${c.commitment.peerId}, not ${args.peerId}`);
  if (out.value < args.minSats) return no('too-small', `stake is ${out.value} sats, minimum ${args.minSats}`);
  if (!tx.status.confirmed || tx.status.blockHeight === undefined || tx.status.blockHash === undefined) {
    return no('unconfirmed', `stake transaction ${txid} is not confirmed`);
  }
  const confirming = await chain.getBlockHeaderByHeight(tx.status.blockHeight);
  if (confirming.hash !== tx.status.blockHash) return no('unconfirmed', `confirming block ${tx.status.blockHash} is no longer in the best chain`);
  const spent = await chain.getOutSpend(txid, 0);
  if (spent.spent) return no('moved', `stake output was spent by ${spent.txid ?? 'an unknown transaction'}`);
  const tip = await chain.getTip();
  const age = tip.time - confirming.time;
  if (age < minAge) return no('too-young', `stake is ${age} s old by block time, needs ${minAge} s`);
  return {
    valid: true,
    seniority: { height: confirming.height, txid },
    amount: out.value,
    rewardAddress: c.commitment.rewardAddress,
    confirmedAt: confirming.time,
  };
}

/** Seniority order: lower confirmation height first, then txid. */
export function compareSeniority(a: { height: number; txid: string }, b: { height: number; txid: string }): number {
  if (a.height !== b.height) return a.height - b.height;
  return a.txid < b.txid ? -1 : a.txid > b.txid ? 1 : 0;
}
