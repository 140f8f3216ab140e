// Shared steps of the epoch end-to-end tests (keygen and regroup over real nodes).
import assert from 'node:assert/strict';
import { startFederation, waitFor, epochOf, requestTransfer, transferState, type Federation, type TestNode } from './harness.js';
import { createTssProof, verifyTssProof } from '../../src/crypto/proof.js';
import { listRounds } from '../../src/rounds/roundlog.js';
import type { EpochFailure } from '../../src/epochs/store.js';

/**
 * Starts a federation that `feds` will stop (the test file's after() stops them all). Those of
 * earlier tests in the file are stopped first: each test uses only its own, and five idle nodes
 * left running beside the next five doubled the load of an already busy process (a devchain call
 * of the next federation's setup timed out on a loaded machine).
 */
export async function federation(feds: Federation[], opts: Parameters<typeof startFederation>[0]): Promise<Federation> {
  await Promise.allSettled(feds.map((f) => f.stop()));
  const fed = await startFederation(opts);
  feds.push(fed);
  if (process.env.METANODE_KEEP_E2E) console.log(`federation in ${fed.dir}`);
  return fed;
}

export const running = (fed: Federation) => fed.nodes.filter((n) => n.running);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when every given node's current epoch is the same one and satisfies `ok`. */
export async function sameEpoch(nodes: TestNode[], ms: number, what: string, ok: (e: { epoch: number; vault: string }) => boolean = () => true) {
  return waitFor(async () => {
    const eps = await Promise.all(nodes.map(epochOf));
    const first = eps[0];
    return first && eps.every((e) => e && e.epoch === first.epoch && e.vault === first.vault) && ok(first) ? first : undefined;
  }, ms, what);
}

export function record(node: TestNode, epoch: number) {
  const e = node.running!.ctx.manager.store.get(epoch);
  assert.ok(e, `${node.name} has no record of epoch ${epoch}`);
  return e;
}

export function failures(node: TestNode, kind: 'keygen' | 'regroup'): EpochFailure[] {
  return node.running ? node.running.ctx.manager.store.failures(1000).filter((f) => f.kind === kind) : [];
}

/** A failure that names exactly `culprit`, directly or as the culprits of the abort it received. */
export function namesOnly(f: EpochFailure, culprit: string): boolean {
  if (f.culprits.length) return f.culprits.length === 1 && f.culprits[0] === culprit;
  const reported = (f.detail as { reported?: { culprits?: string[] } }).reported;
  return !!reported?.culprits && reported.culprits.length === 1 && reported.culprits[0] === culprit;
}

export const attemptOf = (f: EpochFailure) => `${f.epoch}/${String((f.detail as { round?: number }).round)}`;

/**
 * What every running node recorded since `since`: its current epoch (and committee size) and the
 * failed attempts of `kind` with their codes and culprits, so a timed-out wait on a loaded
 * machine explains itself.
 */
export async function explainEpochs(fed: Federation, kind: 'keygen' | 'regroup', since: number): Promise<string> {
  const name = (p: string) => fed.nodes.find((x) => x.peerId === p)?.name ?? p;
  const lines = await Promise.all(running(fed).map(async (n) => {
    const e = await epochOf(n);
    const committee = e ? n.running!.ctx.manager.store.get(e.epoch)?.record.committee.map((m) => name(m.peerId)).join(',') : '';
    const fs = failures(n, kind).filter((f) => f.at >= since).map((f) => `${attemptOf(f)} ${f.code} ${f.message} [${f.culprits.map(name).join(',')}]`);
    return `${n.name} at epoch ${e?.epoch ?? '-'} {${committee}}: ${fs.join('; ') || 'no failures'}`;
  }));
  return `${kind} failures recorded since: ${lines.join(' | ')}`;
}

/**
 * Waits for an attempt of `kind` (epoch and round) that failed naming `bad`: every other running
 * node recorded that attempt's failure naming only `bad` (directly, or as the culprits of the
 * abort it received), at least one named it directly, and no node adopted the attempted epoch.
 * Returns the attempted epoch.
 */
export async function expectNamed(fed: Federation, kind: 'keygen' | 'regroup', bad: TestNode, since: number): Promise<number> {
  const honest = running(fed).filter((n) => n !== bad);
  const direct = await waitFor(() => {
    const d = honest.flatMap((n) => failures(n, kind)).find((f) => f.at >= since && f.culprits.length === 1 && f.culprits[0] === bad.peerId);
    if (!d) return undefined;
    return honest.every((n) => failures(n, kind).some((f) => attemptOf(f) === attemptOf(d))) ? d : undefined;
  }, 150_000, `a ${kind} failure naming ${bad.name}`).catch(async (e: Error) => {
    throw new Error(`${e.message}; ${await explainEpochs(fed, kind, since)}`);
  });
  for (const n of honest) {
    const fs = failures(n, kind).filter((f) => attemptOf(f) === attemptOf(direct));
    assert.ok(fs.length > 0 && fs.every((f) => namesOnly(f, bad.peerId)), `${n.name} records the ${kind} attempt ${attemptOf(direct)} as ${JSON.stringify(fs.map((f) => [f.code, f.culprits, f.message]))}`);
  }
  // Give a straggler time to finish, then check nobody switched to the attempted epoch.
  await sleep(1_500);
  for (const n of running(fed)) assert.equal(n.running!.ctx.manager.store.get(direct.epoch), null, `${n.name} adopted epoch ${direct.epoch} of a failed ${kind}`);
  return direct.epoch;
}

/** The node's current epoch and share belong together: its share proves knowledge against that epoch's verifying share. */
export async function assertConsistentShare(node: TestNode): Promise<{ epoch: number; hasShare: boolean } | null> {
  const m = node.running!.ctx.manager;
  const cur = await m.currentKeyAndShare();
  const stored = await m.vault.list();
  const live = new Set(m.store.all().filter((e) => e.status !== 'retired').map((e) => e.record.epoch));
  for (const e of stored) assert.ok(live.has(e), `${node.name} keeps a share of epoch ${e}, which is not a live adopted epoch`);
  if (!cur) return null;
  if (cur.share) {
    assert.equal(cur.share.epoch, cur.record.epoch, 'share and record of different epochs');
    const vs = cur.key.verifyingShares[cur.share.identifier];
    assert.ok(vs, `${node.name}'s identifier has no verifying share in epoch ${cur.record.epoch}`);
    const ctx = { network: 'regtest' as const, epoch: cur.record.epoch, peerId: node.peerId, round: 1 };
    assert.ok(verifyTssProof(vs, ctx, createTssProof(cur.share, ctx)), `${node.name}'s share of epoch ${cur.record.epoch} is not the one the epoch key commits to`);
  } else {
    assert.ok(!cur.record.committee.some((c) => c.peerId === node.peerId), `${node.name} is in the committee of epoch ${cur.record.epoch} but holds no share`);
  }
  return { epoch: cur.record.epoch, hasShare: cur.share !== null };
}

/**
 * Stops `node` from inside its fault hook just as it is about to send a message of `type` (the
 * message is not sent), waits for the stop, and starts it again.
 */
export async function restartAt(node: TestNode, type: string): Promise<void> {
  const stopping: Promise<void>[] = [];
  node.faults.outgoing = (t, payload) => {
    if (t !== type) return payload;
    node.faults.outgoing = undefined;
    stopping.push(node.stop());
    return null;
  };
  await waitFor(() => stopping.length > 0, 150_000, `${node.name} about to send ${type}`);
  await stopping[0];
  await node.start();
}

/** Pays one transfer and returns the threshold set of the round that paid it (as `reader` logged it). */
export async function payTransfer(fed: Federation, at: TestNode, readers: TestNode[]): Promise<{ txid: string; thresholdSet: string[] }> {
  const t = await requestTransfer(fed, at, 60_000);
  const st = await waitFor(async () => {
    const s = await transferState(at, t.id);
    return s?.state === 'paid' && s.txid ? s : undefined;
  }, 90_000, `transfer ${t.id} paid`);
  const set = await waitFor(() => {
    for (const r of readers) {
      const round = listRounds(r.running!.ctx.db, 200).find((x) => x.txid === st.txid && x.thresholdSet);
      if (round) return round.thresholdSet!;
    }
    return undefined;
  }, 10_000, `the round that paid ${st.txid}`);
  return { txid: st.txid!, thresholdSet: set };
}


/** Every running node sees all the others and none is in a ceremony: a quiet point to change faults. */
/**
 * Every running node connected, none in a ceremony, and all on one current epoch (or none). The
 * last part matters to a test that snapshots every node's key next: a keygen that ended just
 * before (say one among four nodes, before the fifth was seen) reaches the last node by epoch
 * sync a moment later, which must not count as a change the test's own ceremony made.
 */
export async function quiet(fed: Federation, ms = 120_000): Promise<void> {
  await waitFor(async () => {
    const up = running(fed);
    if (!up.every((n) => n.running!.ctx.network.table.list().length >= up.length - 1 && n.running!.ctx.activity.state !== 'keygen' && n.running!.ctx.activity.state !== 'regroup')) return false;
    const eps = await Promise.all(up.map(epochOf));
    return eps.every((e) => (e === null ? eps[0] === null : eps[0] !== null && e.epoch === eps[0]!.epoch && e.vault === eps[0]!.vault));
  }, ms, 'all nodes connected, no ceremony running, one current epoch', 200);
}
