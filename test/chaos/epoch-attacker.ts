// The epoch attacks of test/chaos/epoch-attacks.ts on a running production node
// (test/support/node-main.ts attaches them when its settings say `epochAttacks`: the chaos harness
// sets that when its schedule holds such an attack). The node itself is unchanged; while an attack
// is switched on (a file in the data directory), this wrapper
//   - answers epochs.sync with the attack's records instead of the node's own, and
//   - makes the node's pings announce epoch current+1, so that honest peers ask it.
// Switched off, both go back to the node's own behaviour.
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { RunningNode } from '../../src/node/index.js';
import { roundOf } from '../../src/node/context.js';
import { dkgFinish, dkgRound2, dkgStart, dkgTranscriptHash } from '../../src/crypto/dkg.js';
import { membersInOrder } from '../../src/crypto/identifiers.js';
import { vaultAddress } from '../../src/crypto/taproot.js';
import { signRecord } from '../../src/epochs/attest.js';
import { keygenPlanHash, makeAttempt } from '../../src/epochs/attempt.js';
import { epochKeyHash, recordHash, type EpochRecord } from '../../src/epochs/record.js';
import { EPOCH_SYNC_KIND, EPOCH_SYNC_MAX_EPOCHS, serveEpochSync, type EpochSyncEntry, type EpochSyncResponse } from '../../src/epochs/sync.js';
import { errorMessage } from '../../src/util/errors.js';
import { readEpochAttackMode, writeEpochAttackState, type EpochAttackMode, type EpochAttackState, type OfferedRecord } from './epoch-attacks.js';

/** The forged keygen epoch current+1: the attacker and a sybil of its own, 2-of-2, fully signed by both, key consistent with the record. */
async function forgedEntry(node: RunningNode): Promise<EpochSyncEntry | null> {
  const { ctx } = node;
  const cur = ctx.manager.current();
  if (!cur) return null;
  const network = ctx.config.network;
  const epoch = ctx.manager.store.maxEpoch() + 1;
  const sybil = await generateKeyPair('Ed25519');
  const sybilId = peerIdFromPrivateKey(sybil as never as Parameters<typeof peerIdFromPrivateKey>[0]).toString();
  const committee = membersInOrder([ctx.peerId, sybilId]);
  const threshold = 2;
  const starts = committee.map((m) => dkgStart({ self: m.peerId, committee, threshold, epoch, network }));
  const round1 = starts.map((s) => s.round1);
  const round2 = starts.flatMap((s) => dkgRound2(s.session, round1));
  const { key } = dkgFinish(starts[0]!.session, round1, round2.filter((p) => p.to === committee[0]!.identifier));
  const startedAt = roundOf(ctx, ctx.now()) * ctx.roundMs;
  const record: EpochRecord = {
    version: 1,
    kind: 'keygen',
    network,
    epoch,
    attempt: makeAttempt({ kind: 'keygen', network, epoch, startedAt, planHash: keygenPlanHash({ network, epoch, previousEpoch: cur.record.epoch, committee, threshold }) }),
    previousEpoch: cur.record.epoch,
    outputKey: key.outputKey,
    internalKey: key.internalKey,
    vaultAddress: vaultAddress(key),
    committee: committee.map((m) => ({ peerId: m.peerId, identifier: m.identifier })),
    threshold,
    transcriptHash: dkgTranscriptHash(round1),
    keyHash: epochKeyHash(key),
    testSignature: null,
  };
  const signatures = [await signRecord(record, ctx.peerId, (b) => ctx.privateKey.sign(b)), await signRecord(record, sybilId, (b) => sybil.sign(b))];
  return { record, signatures, key };
}

/**
 * Fully signed records of epochs this federation has moved past (every one below the current),
 * oldest first; when it has moved past none yet (a single keygen before lock-in), the current
 * epoch's record: a replay of what every honest node holds either way.
 */
function supersededEntries(node: RunningNode): EpochSyncEntry[] {
  const cur = node.ctx.manager.current();
  if (!cur) return [];
  const all = node.ctx.manager.store.all();
  const past = all.filter((e) => e.record.epoch < cur.record.epoch);
  return (past.length ? past : all.filter((e) => e.record.epoch === cur.record.epoch))
    .slice(-EPOCH_SYNC_MAX_EPOCHS)
    .map((e) => ({ record: e.record, signatures: e.signatures, key: e.key }));
}

interface Internals {
  network: { o: { clock?: () => { epoch: number; round: number } } };
  direct: { kinds: Map<string, { handler: (from: string, req: unknown) => unknown }> };
}

export function attachEpochAttacks(node: RunningNode): void {
  const { ctx } = node;
  const dataDir = ctx.config.dataDir;
  const log = ctx.log.child({ module: 'epoch-attack' });
  const state: EpochAttackState = { mode: 'none', actions: {}, offered: [] };
  writeEpochAttackState(dataDir, state);
  let forged: EpochSyncEntry | null = null;

  // The ping's epoch: the node's own, plus one while an attack is on.
  const net = ctx.network as unknown as Internals['network'];
  const ownClock = net.o.clock;
  if (!ownClock) throw new Error('the node has no ping clock to wrap');
  net.o.clock = () => {
    const c = ownClock();
    return state.mode === 'none' ? c : { ...c, epoch: ctx.manager.store.maxEpoch() + 1 };
  };

  const offer = (mode: EpochAttackMode, entries: EpochSyncEntry[]): EpochSyncResponse => {
    state.actions[mode] = (state.actions[mode] ?? 0) + 1;
    for (const e of entries) {
      const o: OfferedRecord = { mode, epoch: e.record.epoch, outputKey: e.record.outputKey, hash: recordHash(e.record) };
      if (!state.offered.some((x) => x.hash === o.hash && x.mode === mode)) state.offered.push(o);
    }
    writeEpochAttackState(dataDir, state);
    return { epochs: entries };
  };
  const kinds = (ctx.network.direct as unknown as Internals['direct']).kinds;
  const spec = kinds.get(EPOCH_SYNC_KIND);
  if (!spec) throw new Error(`${EPOCH_SYNC_KIND} is not registered`);
  kinds.set(EPOCH_SYNC_KIND, {
    ...spec,
    handler: async (from: string, req: unknown) => {
      if (state.mode === 'forged-epoch') {
        forged ??= await forgedEntry(node);
        if (forged) {
          log.warn({ to: from, epoch: forged.record.epoch }, 'epoch attack (test-only): serving a forged keygen epoch');
          return offer('forged-epoch', [forged]);
        }
      } else if (state.mode === 'replayed-record') {
        const stale = supersededEntries(node);
        if (stale.length) {
          log.warn({ to: from, epochs: stale.map((e) => e.record.epoch) }, 'epoch attack (test-only): replaying superseded records');
          return offer('replayed-record', stale);
        }
      }
      return serveEpochSync(ctx.manager, req);
    },
  });

  const poll = setInterval(() => {
    try {
      const mode = readEpochAttackMode(dataDir);
      if (mode === state.mode) return;
      log.warn({ from: state.mode, to: mode }, 'epoch attack (test-only): mode changed');
      state.mode = mode;
      forged = null; // a new forgery on top of whatever epoch is current when it is next asked for
      writeEpochAttackState(dataDir, state);
    } catch (e) {
      log.warn({ err: errorMessage(e) }, 'epoch attack (test-only): reading the switch failed');
    }
  }, 250);
  poll.unref();
  void node.done.finally(() => clearInterval(poll));
}
