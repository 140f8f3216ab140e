// Custody signing rounds in the simulation: each member runs the production SigningRoundDriver
// (pure round transitions, signed-session guard and transfer bookkeeping on its own in-memory
// SQLite) over the simulated network. Messages leave through the member's publish port, where
// a Byzantine member's strategy changes, splits or drops them before the member's own share
// signs each body. Every round pays fresh transfers (deposits to their tweaked addresses) from a
// fresh vault output; a member's later views leave out what it saw paid.
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { addressToScript } from '../chain/network.js';
import { createTssProof } from '../crypto/proof.js';
import { addressFromScript, depositTweak, scriptPubKeyFor } from '../crypto/taproot.js';
import type { EpochKey, KeyShare } from '../crypto/types.js';
import type { CandidateParams, CandidateView, DepositUtxo, TransferRequest, VaultUtxo } from '../custody/candidate.js';
import { trackTransfer } from '../custody/transfers.js';
import { SigningRoundDriver, defaultRoundDeps } from '../rounds/signing/driver.js';
import { MSG } from '../rounds/signing/messages.js';
import { signOutgoing } from '../rounds/signing/signed.js';
import type { Participant, RoundConfig, RoundState, RoundTimeouts } from '../rounds/signing/types.js';
import type { Db } from '../store/db.js';
import type { Prng } from '../util/prng.js';
import { tamper, type Strategy } from './byzantine.js';
import type { SimChain } from './chain.js';
import type { World } from './world.js';

/** Production runner ticks every 200 ms. */
const TICK_MS = 200;

export const CANDIDATE_PARAMS: CandidateParams = { minConfirmations: 1, replicationDelayMs: 5_000, transferFee: 1_000n, feeRateMin: 1, feeRateMax: 100 };

export interface SignerNode {
  peerId: string;
  share: KeyShare;
  db: Db;
  strategy: Strategy | null;
  /** What this member saw paid (its later candidates leave these out). */
  paid: Set<string>;
  spent: Set<string>;
  rewardAddress: string;
}

/** Funds shared by every member's view (the chain as all honest members scan it). */
export interface Funds {
  requests: TransferRequest[];
  deposits: DepositUtxo[];
  vault: VaultUtxo[];
}

const randomAddress = (prng: Prng) => addressFromScript('5120' + bytesToHex(schnorr.getPublicKey(schnorr.utils.randomSecretKey(prng.bytes(48)))), 'regtest');

/** Adds this round's transfers (each with its deposit) and one vault output to the chain and the shared funds. */
export function fundRound(prng: Prng, chain: SimChain, funds: Funds, key: EpochKey, roundId: number, roundMs: number, transfers: number, anchor: number): void {
  const startMs = roundId * roundMs;
  for (let i = 0; i < transfers; i++) {
    const id = `r${roundId}-t${i}`;
    const amount = BigInt(prng.range(20_000, 100_000));
    const destination = randomAddress(prng);
    funds.requests.push({ id, amount, destination, refundAddress: randomAddress(prng), createdAt: startMs - 60_000, expiresAt: startMs + 3_600_000 });
    const d: DepositUtxo = { txid: bytesToHex(prng.bytes(32)), vout: 0, value: amount, height: anchor - 3, requestId: id, scriptPubKey: scriptPubKeyFor(key, depositTweak(key, id)) };
    funds.deposits.push(d);
    chain.fund(`${d.txid}:${d.vout}`, { script: d.scriptPubKey, value: d.value }, id);
    chain.destinations.set(addressToScript(destination, 'regtest'), id);
  }
  const v: VaultUtxo = { txid: bytesToHex(prng.bytes(32)), vout: 0, value: 500_000n, height: anchor - 5, scriptPubKey: scriptPubKeyFor(key) };
  funds.vault.push(v);
  chain.fund(`${v.txid}:${v.vout}`, { script: v.scriptPubKey, value: v.value });
}


export interface RoundRun {
  roundId: number;
  states: Map<string, RoundState>;
  blocks: Array<{ by: string; peer: string; code: string; reason: string; at: number }>;
  firstSignatureAt: number | null;
  stopped: string;
}

export interface RoundSetup {
  key: EpochKey;
  roundId: number;
  roundMs: number;
  anchor: number;
  timeouts: RoundTimeouts;
  limitMs: number;
}

/** Runs one custody round on `nodes` until every honest member's round ended (and learned a signature if one was made). */
export async function runSigningRound(
  world: World,
  nodes: SignerNode[],
  funds: Funds,
  chain: SimChain,
  setup: RoundSetup,
  honest: (p: string) => boolean,
  prng: Prng,
  on: { problem: (what: string) => void; block: (b: RoundRun['blocks'][number]) => void },
): Promise<RoundRun> {
  const { key, roundId } = setup;
  const boundary = roundId * setup.roundMs;
  const participants: Participant[] = key.committee.map((m) => ({ peerId: m.peerId, identifier: m.identifier, verifyingShare: key.verifyingShares[m.identifier]! }));
  const drivers = new Map<string, SigningRoundDriver>();
  const nextTick = new Map<string, number>();
  const seenProofs = new Map<string, Map<string, string>>();
  const heldProposals = new Map<string, unknown>();
  const early = new Map(nodes.map((n) => [n.peerId, [] as Array<{ from: string; type: string; payload: unknown }>]));
  const run: RoundRun = { roundId, states: new Map(), blocks: [], firstSignatureAt: null, stopped: '' };
  const ctxOf = (peer: string) => ({ network: 'regtest' as const, epoch: key.epoch, peerId: peer, round: roundId });

  const schedule = (peer: string) => {
    const d = drivers.get(peer);
    if (!d || d.done) return;
    const at = world.globalOf(peer, Math.ceil(d.state.deadline / TICK_MS) * TICK_MS);
    const pending = nextTick.get(peer) ?? -1;
    if (at >= pending && pending > world.now) return;
    nextTick.set(peer, at);
    world.at(at, () => {
      drivers.get(peer)!.tick();
      schedule(peer);
    });
  };

  for (const n of nodes) {
    seenProofs.set(n.peerId, new Map());
    world.at(world.globalOf(n.peerId, boundary), () => {
      const view: CandidateView = {
        key, roundId, roundStartMs: boundary, anchorHeight: setup.anchor, feeRate: 3,
        requests: funds.requests, deposits: funds.deposits, vaultUtxos: funds.vault,
        peers: nodes.map((x) => ({ peerId: x.peerId, rewardAddress: x.rewardAddress })),
        excludedTransfers: [...n.paid], lockedOutpoints: [...n.spent].map((op) => ({ txid: op.split(':')[0]!, vout: Number(op.split(':')[1]) })),
      };
      for (const r of funds.requests) trackTransfer(n.db, r.id, world.local(n.peerId));
      const cfg: RoundConfig = {
        network: 'regtest', epoch: key.epoch, roundId, self: n.peerId, key, share: n.share, threshold: key.threshold, participants,
        tssProof: createTssProof(n.share, ctxOf(n.peerId)), timeouts: setup.timeouts,
      };
      const driver = new SigningRoundDriver(
        {
          db: n.db,
          now: () => world.local(n.peerId),
          publish: (type, payload) => {
            // A copier with no proof to copy yet holds its proposal until it sees one (a late copier).
            if (n.strategy === 'copied-proof' && type === MSG.proposal && seenProofs.get(n.peerId)!.size === 0) return void heldProposals.set(n.peerId, payload);
            send(n, type, payload);
          },
          broadcastTx: async (hex) => {
            const r = chain.broadcast(n.peerId, hex, world.now);
            for (const p of r.problems) on.problem(`round ${roundId}: ${p}`);
            if (run.firstSignatureAt === null) run.firstSignatureAt = world.now;
            return r.txid ?? '';
          },
          block: (peer, code, reason) => {
            const b = { by: n.peerId, peer, code, reason, at: world.now };
            run.blocks.push(b);
            on.block(b);
          },
          tipHeight: () => setup.anchor,
        },
        cfg,
        defaultRoundDeps(view, CANDIDATE_PARAMS, cfg),
      );
      drivers.set(n.peerId, driver);
      // Messages that came before this member's round started (the runner keeps them, signing-runner.ts).
      for (const m of early.get(n.peerId)!.splice(0)) deliver(n, driver, m);
      schedule(n.peerId);
    });
    world.handle(n.peerId, (d) => {
      const driver = drivers.get(n.peerId);
      if (!d.type.startsWith('sign.')) return;
      if (!driver) return void early.get(n.peerId)!.push(d);
      deliver(n, driver, d);
      schedule(n.peerId);
    });
  }
  function send(n: SignerNode, type: string, payload: unknown): void {
    const peers = nodes.map((x) => x.peerId).filter((p) => p !== n.peerId);
    const parts = n.strategy ? tamper(n.strategy, type, payload, { self: n.peerId, peers, prng, seenProofs: seenProofs.get(n.peerId)! }) : [{ payload }];
    for (const part of parts) world.publish(n.peerId, type, signOutgoing(n.share, ctxOf(n.peerId), type, part.payload), part.only ? { only: part.only } : {});
  }
  function deliver(n: SignerNode, driver: SigningRoundDriver, d: { from: string; type: string; payload: unknown }): void {
    if (d.type === MSG.proposal && typeof (d.payload as { tssProof?: unknown }).tssProof === 'string') {
      seenProofs.get(n.peerId)!.set(d.from, (d.payload as { tssProof: string }).tssProof);
      const held = heldProposals.get(n.peerId);
      if (held !== undefined) {
        heldProposals.delete(n.peerId);
        send(n, MSG.proposal, held);
      }
    }
    driver.message(d.from, d.type, d.payload);
  }
  const honestNodes = nodes.filter((n) => honest(n.peerId));
  // An honest member is through when its round ended and, if any member signed, it holds the result.
  const through = () =>
    honestNodes.every((n) => {
      const d = drivers.get(n.peerId);
      return d && d.done && (run.firstSignatureAt === null || d.state.result !== null);
    });
  run.stopped = await world.run(through, boundary + setup.limitMs);
  for (const n of nodes) {
    world.handle(n.peerId, null);
    const d = drivers.get(n.peerId);
    if (!d) continue;
    run.states.set(n.peerId, d.state);
    const s = d.state;
    if (s.result && s.doc) {
      for (const t of s.doc.transferIds) n.paid.add(t);
      for (const i of s.doc.inputs) n.spent.add(`${i.txid}:${i.vout}`);
    }
  }
  world.queue.clear();
  return run;
}
