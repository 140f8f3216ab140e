// Follows the node's custody transactions on the best chain, every chain poll:
//   1. A confirmed or final tx whose confirming block is no longer on the best chain (the block
//      hash at its height changed) was disconnected by a reorg: if the chain has it in another
//      block it moves there, otherwise it is unconfirmed again and its transfers in flight.
//      Disconnecting a final tx is a finality violation, logged at error level.
//   2. An unconfirmed tx in a block of the best chain is confirmed. One the chain source does not
//      know is rebroadcast from the signed hex this node holds; it is dropped (its transfers
//      pending, to be paid by a later round) only when an input is spent by another transaction
//      or the source refuses it for its inputs. Because every payout spends its request's
//      deposits, no two transactions paying one transfer can both be on the chain.
//   3. A confirmed tx at custody.finalityDepth confirmations is final: its transfers are paid.
// Every change is one SQLite transaction: the state, the transfers' history, and a round-log row
// (phase 'chain') naming the block that caused it, and whatever the `within` hook writes (the
// reward ledger, src/custody/rewards.ts). Listeners hear each change after it is written; see
// CustodyTxEvent.
import { BestChainHashes } from '../chain/best-chain.js';
import type { ChainSource, Tip } from '../chain/types.js';
import { appendLog } from '../rounds/roundlog.js';
import type { Db } from '../store/db.js';
import { errorMessage, isMetanodeError } from '../util/errors.js';
import type { Outpoint } from './candidate.js';
import {
  getCustodyTx, listCustodyTxs, markConfirmed, markDropped, markFinal, markReverted, recordConfirmedCustodyTx, setConfirmations,
  type BlockRef, type Cause, type CustodyTxRecord,
} from './transfers.js';

/** Final txs are still checked against reorgs for this many blocks past finality (a day of mainnet blocks). */
export const FINAL_WATCH_BLOCKS = 144;

export type CustodyTxEventKind = 'confirmed' | 'finalized' | 'reverted' | 'rebroadcast' | 'dropped';

/**
 * One change of a custody transaction's standing on the chain. `finalized` and `reverted` are
 * what a ledger of the tx's outputs (payouts, refunds, rewards, sweep change) needs: an output
 * counts once its tx is finalized, and stops counting when it is reverted.
 */
export interface CustodyTxEvent {
  kind: CustodyTxEventKind;
  txid: string;
  /** The round that signed it (-1: learned from the chain without a readable commitment). */
  roundId: number;
  /** Transfers the tx pays. */
  transferIds: string[];
  /** The block that caused the change (confirmed: the confirming block; finalized: the block
   * that gave the last confirmation needed; reverted: the disconnected block; dropped: the block
   * holding the conflicting spend, when confirmed). */
  blockHash?: string;
  height?: number;
  reason: string;
  /** reverted: the tx had been final (a reorg deeper than custody.finalityDepth). */
  finalityViolation?: boolean;
}

export type CustodyTxListener = (e: CustodyTxEvent) => void;

type ChainPort = Pick<ChainSource, 'getTx' | 'getOutSpend' | 'broadcast' | 'getBlockHeaderByHeight' | 'getTip'>;
type LogPort = { info(o: object, msg: string): void; warn(o: object, msg: string): void; error(o: object, msg: string): void };

export interface CustodyChainOptions {
  db: Db;
  chain: ChainPort;
  finalityDepth: number;
  log: LogPort;
  now: () => number;
  /** Called inside the SQLite transaction of every change, after it is applied (derived ledgers). */
  within?: (e: CustodyTxEvent) => void;
}

type Rebroadcast = 'accepted' | 'refused' | 'undecided';

async function rebroadcast(chain: Pick<ChainSource, 'broadcast'>, hex: string): Promise<Rebroadcast> {
  try {
    await chain.broadcast(hex);
    return 'accepted';
  } catch (e) {
    if (!isMetanodeError(e, 'TX_REJECTED')) return 'undecided'; // unreachable: decide next time
    return /missingorspent|missing inputs|conflict/i.test(errorMessage(e)) ? 'refused' : 'undecided';
  }
}

export class CustodyChainFollower {
  private readonly bestChain: BestChainHashes;
  private readonly listeners = new Set<CustodyTxListener>();

  constructor(private readonly o: CustodyChainOptions) {
    if (!Number.isInteger(o.finalityDepth) || o.finalityDepth < 1) throw new Error(`finalityDepth must be an integer >= 1, got ${o.finalityDepth}`);
    this.bestChain = new BestChainHashes(o.chain);
  }

  /** Subscribes to custody tx changes; returns the unsubscribe function. */
  on(listener: CustodyTxListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Brings every custody tx in line with the best chain ending at `tip`; returns the changes. */
  async poll(tip: Tip): Promise<CustodyTxEvent[]> {
    const events: CustodyTxEvent[] = [];
    try {
      await this.bestChain.follow(tip);
      await this.checkBlocks(tip, events);
      await this.checkUnconfirmed(tip, events);
      await this.checkDepth(tip, events);
      if (this.bestChain.takeReads() > 0) {
        const after = await this.o.chain.getTip();
        if (after.height !== tip.height || after.hash !== tip.hash) this.bestChain.reset();
      }
      this.bestChain.retain(new Set(this.watched(tip).map((t) => t.confirmedHeight!)));
    } catch (e) {
      this.bestChain.reset();
      throw e;
    } finally {
      for (const e of events) this.publish(e);
    }
    return events;
  }

  /**
   * A custody tx this node did not record (it missed the round's end) seen in `block` paying
   * `transferIds`: recorded as confirmed; the next poll follows it like the others.
   */
  learn(c: { txid: string; roundId: number; hex: string; inputs: Outpoint[]; transferIds: string[]; block: BlockRef; tipHeight: number }): CustodyTxEvent | null {
    const now = this.o.now();
    const e: CustodyTxEvent = {
      kind: 'confirmed', txid: c.txid, roundId: c.roundId, transferIds: [...c.transferIds].sort(), blockHash: c.block.hash, height: c.block.height,
      reason: `seen on chain paying ${c.transferIds.length} transfer(s) in block ${c.block.hash} at height ${c.block.height}`,
    };
    const changed = this.o.db.transaction(() => {
      if (!recordConfirmedCustodyTx(this.o.db, { ...c, now })) return false;
      this.o.within?.(e);
      this.roundLog(e, now);
      return true;
    })();
    if (!changed) return null;
    this.publish(e);
    return e;
  }

  private watched(tip: Tip): CustodyTxRecord[] {
    return [...listCustodyTxs(this.o.db, 'confirmed'), ...listCustodyTxs(this.o.db, 'final')].filter(
      (t) => t.blockHash !== undefined && t.confirmedHeight !== undefined && t.confirmedHeight > tip.height - this.o.finalityDepth - FINAL_WATCH_BLOCKS,
    );
  }

  /** Step 1: confirming blocks that left the best chain. */
  private async checkBlocks(tip: Tip, events: CustodyTxEvent[]): Promise<void> {
    for (const t of this.watched(tip)) {
      const h = t.confirmedHeight!;
      const now = await this.bestChain.hashAt(h);
      if (now === t.blockHash) continue;
      const moved = await this.onBestChain(t.txid);
      const base = { txid: t.txid, roundId: t.roundId, transferIds: t.transferIds };
      if (moved) {
        this.change(events, { ...base, kind: 'confirmed', blockHash: moved.hash, height: moved.height, reason: `block ${t.blockHash} at height ${h} left the best chain; ${t.txid} is in block ${moved.hash} at height ${moved.height}` }, () =>
          markConfirmed(this.o.db, t.txid, moved, this.o.now(), tip.height),
        );
        if (t.state === 'final') this.finalityViolation(t, tip, true);
        continue;
      }
      const cause: Cause = { blockHash: t.blockHash!, height: h, reason: `block ${t.blockHash} at height ${h} left the best chain (now ${now ?? 'none'} at that height)` };
      this.change(events, { ...base, kind: 'reverted', blockHash: t.blockHash!, height: h, reason: cause.reason, ...(t.state === 'final' ? { finalityViolation: true } : {}) }, () =>
        markReverted(this.o.db, t.txid, tip.height, cause, this.o.now()),
      );
      if (t.state === 'final') this.finalityViolation(t, tip, false);
    }
  }

  /** Step 2: unconfirmed txs confirm, are rebroadcast, or are dropped. */
  private async checkUnconfirmed(tip: Tip, events: CustodyTxEvent[]): Promise<void> {
    const { db, chain } = this.o;
    for (const t of listCustodyTxs(db, 'unconfirmed')) {
      if (getCustodyTx(db, t.txid)?.state !== 'unconfirmed') continue; // a replacement confirmed earlier in this pass
      const base = { txid: t.txid, roundId: t.roundId, transferIds: t.transferIds };
      const tx = await chain.getTx(t.txid);
      if (tx?.status.confirmed) {
        const block = await this.onBestChain(t.txid, tx.status);
        if (block) this.confirmed(events, t, block, tip);
        continue; // a block the source lists but our best chain does not hold: judge next poll
      }
      let conflict: Cause | null = null;
      for (const o of t.inputs) {
        const s = await chain.getOutSpend(o.txid, o.vout);
        if (!s.spent || !s.txid || s.txid === t.txid) continue;
        const where = s.status?.confirmed && s.status.blockHash ? ` in block ${s.status.blockHash} at height ${s.status.blockHeight}` : ' (mempool)';
        conflict = { ...(s.status?.blockHash ? { blockHash: s.status.blockHash, height: s.status.blockHeight } : {}), reason: `input ${o.txid}:${o.vout} spent by ${s.txid}${where}` };
        // The spender may be one of our own replacements that confirmed.
        const mine = getCustodyTx(db, s.txid);
        if (mine && s.status?.confirmed) {
          const block = await this.onBestChain(s.txid, s.status);
          if (block) this.confirmed(events, mine, block, tip);
        }
        break;
      }
      if (getCustodyTx(db, t.txid)?.state !== 'unconfirmed') continue;
      if (!conflict && tx !== null) continue; // in the mempool: wait
      if (!conflict) {
        // Unknown to the source is not proof of a drop: another node's broadcast may not have
        // reached it yet, a mempool evicted it, or a reorg dropped it while its inputs are still
        // unspent. We hold the signed hex: offer it again. Only a refusal for its inputs proves
        // it can never confirm.
        const r = await rebroadcast(chain, t.hex);
        if (r === 'accepted') this.change(events, { ...base, kind: 'rebroadcast', reason: `${t.txid} unknown to the chain source at height ${tip.height}; rebroadcast from the signed hex` }, () => true);
        if (r !== 'refused') continue;
        conflict = { blockHash: tip.hash, height: tip.height, reason: `the chain source refuses ${t.txid} for its inputs at tip ${tip.hash}` };
      }
      const c = conflict;
      this.change(events, { ...base, kind: 'dropped', ...(c.blockHash ? { blockHash: c.blockHash } : {}), ...(c.height !== undefined ? { height: c.height } : {}), reason: c.reason }, () => {
        markDropped(db, t.txid, this.o.now(), c);
        return true;
      });
    }
  }

  /** Step 3: depth, and finality at custody.finalityDepth. */
  private async checkDepth(tip: Tip, events: CustodyTxEvent[]): Promise<void> {
    const depth = this.o.finalityDepth;
    for (const t of listCustodyTxs(this.o.db, 'confirmed')) {
      if (t.confirmedHeight === undefined || t.blockHash === undefined) continue;
      const confirmations = tip.height - t.confirmedHeight + 1;
      if (confirmations < depth) {
        if (confirmations !== t.confirmations) setConfirmations(this.o.db, t.txid, confirmations);
        continue;
      }
      const at = t.confirmedHeight + depth - 1;
      const hash = (await this.bestChain.hashAt(at)) ?? tip.hash;
      const cause: Cause = { blockHash: hash, height: at, reason: `${depth} confirmations of ${t.txid} (block ${t.blockHash}) at block ${hash}` };
      this.change(events, { kind: 'finalized', txid: t.txid, roundId: t.roundId, transferIds: t.transferIds, blockHash: hash, height: at, reason: cause.reason }, () => {
        markFinal(this.o.db, t.txid, confirmations, cause, this.o.now());
        return true;
      });
    }
  }

  private confirmed(events: CustodyTxEvent[], t: CustodyTxRecord, block: BlockRef, tip: Tip): void {
    const e: CustodyTxEvent = { kind: 'confirmed', txid: t.txid, roundId: t.roundId, transferIds: t.transferIds, blockHash: block.hash, height: block.height, reason: `${t.txid} in block ${block.hash} at height ${block.height}` };
    this.change(events, e, () => markConfirmed(this.o.db, t.txid, block, this.o.now(), tip.height));
  }

  /** Where the chain source has the tx, if that block is on our best chain. */
  private async onBestChain(txid: string, status?: { confirmed: boolean; blockHeight?: number; blockHash?: string }): Promise<BlockRef | null> {
    const st = status ?? (await this.o.chain.getTx(txid))?.status;
    if (!st?.confirmed || st.blockHeight === undefined || st.blockHash === undefined) return null;
    return (await this.bestChain.contains(st.blockHeight, st.blockHash)) ? { height: st.blockHeight, hash: st.blockHash } : null;
  }

  /** Applies one change with its round-log row in one SQLite transaction; records the event if it changed anything. */
  private change(events: CustodyTxEvent[], e: CustodyTxEvent, apply: () => unknown): void {
    const now = this.o.now();
    const changed = this.o.db.transaction(() => {
      if (apply() === false) return false;
      this.o.within?.(e);
      this.roundLog(e, now);
      return true;
    })();
    if (changed) events.push(e);
  }

  private roundLog(e: CustodyTxEvent, now: number): void {
    appendLog(this.o.db, {
      roundId: e.roundId, phase: 'chain', time: now, digest: e.txid, decision: e.kind,
      reason: e.blockHash ? `block ${e.blockHash} height ${e.height}: ${e.reason}` : e.reason,
    });
  }

  private finalityViolation(t: CustodyTxRecord, tip: Tip, stillConfirmed: boolean): void {
    this.o.log.error(
      {
        txid: t.txid, roundId: t.roundId, transfers: t.transferIds, block: t.blockHash, height: t.confirmedHeight, tip: tip.hash, tipHeight: tip.height,
        finalityDepth: this.o.finalityDepth, reorgDepthAtLeast: t.confirmations ?? this.o.finalityDepth,
        action: stillConfirmed
          ? `the transaction is in another block of the new best chain and is followed from there; nothing was paid twice. Raise custody.finalityDepth above ${t.confirmations ?? this.o.finalityDepth} if reorgs this deep recur on this network.`
          : `the transfers it paid were reported paid and are in flight again: this node rebroadcasts the signed transaction while its inputs are unspent; if another transaction spent an input they go back to pending and a later round pays them once. Tell the payees their payment is not final, check the chain for what replaced the transaction, and raise custody.finalityDepth above ${t.confirmations ?? this.o.finalityDepth}.`,
      },
      'finality violation: a reorg disconnected the block of a final custody transaction',
    );
  }

  private publish(e: CustodyTxEvent): void {
    const level = e.kind === 'reverted' || e.kind === 'dropped' ? 'warn' : 'info';
    this.o.log[level]({ txid: e.txid, roundId: e.roundId, transfers: e.transferIds, block: e.blockHash, height: e.height, reason: e.reason }, `custody tx ${e.kind}`);
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        this.o.log.warn({ txid: e.txid, kind: e.kind, err: errorMessage(err) }, 'custody tx listener failed');
      }
    }
  }
}
