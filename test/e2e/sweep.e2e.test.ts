// DESIGN §4: while keygen epochs replace the vault key, funds left at an earlier epoch's vault
// are swept to the current vault by the next custody round, and the earlier epoch's shares are
// destroyed only once nothing is left at its addresses. Then, on the same federation: a committee
// member backed up while it runs and restored into a fresh data directory signs the next round.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { startFederation, waitFor, epochOf, requestTransfer, transferState, type Federation } from './harness.js';
import { scriptPubKeyFor, vaultAddress } from '../../src/crypto/taproot.js';
import { backupCommand, restoreCommand } from '../../src/cli/commands/lifecycle.js';
import { listRounds, readTimeline } from '../../src/rounds/roundlog.js';
import { signedSessions } from '../../src/rounds/signing/sessions.js';
import type { EpochsResponse } from '../../src/api/types.js';

let fed: Federation | undefined;
after(async () => {
  await fed?.stop();
});

test('funds at an earlier epoch vault are swept to the current vault, then that epoch is retired', { timeout: 300_000 }, async () => {
  fed = await startFederation({ n: 4, keygen: '*/8 * * * * *', keygenUntilMs: 34_000 });
  const f = fed;
  const first = await waitFor(async () => {
    const eps = await Promise.all(f.nodes.map(epochOf));
    return eps.every((e) => e && e.epoch === eps[0]!.epoch && e.hasShare) ? eps[0]! : undefined;
  }, 40_000, 'first epoch on every node');
  const coin = await f.faucet.faucet(first.vault, 150_000n);

  const final = await waitFor(async () => {
    const eps = await Promise.all(f.nodes.map(epochOf));
    const same = eps.every((e) => e && e.epoch === eps[0]!.epoch);
    // A keygen whose slot began before keygen_until may still finish after it: wait until every
    // node is locked in with none in a keygen, so the epoch read here is the one that stays.
    const settled = f.nodes.every((n) => n.running!.ctx.manager.isLocked() && n.running!.ctx.activity.state !== 'keygen');
    return same && settled && Date.now() > f.keygenUntil.getTime() + 2_000 && eps[0]!.epoch > first.epoch ? eps[0]! : undefined;
  }, 90_000, 'a later epoch locked in on every node');
  assert.notEqual(final.vault, first.vault, 'keygen replaced the vault key');

  // Keygen may have run more than once after the coin arrived: the funds hop vault to vault
  // until they rest at the vault of the locked-in key.
  const n1 = f.nodes[0]!.running!.ctx;
  const current = n1.manager.current()!;
  assert.equal(vaultAddress(current.key), final.vault);
  const rest = await waitFor(async () => {
    const utxos = await f.chain.getAddressUtxos(final.vault);
    return utxos.find((u) => u.status.confirmed && u.value > 140_000n);
  }, 120_000, 'the swept funds confirmed at the current vault');
  assert.equal(rest.scriptPubKey, scriptPubKeyFor(current.key));
  assert.ok(rest.value < 150_000n, 'the miner fee was paid from the swept coin (a sweep pays no reward)');
  assert.equal((await f.chain.getOutSpend(coin.txid, coin.vout)).spent, true, 'the earlier vault coin is spent');

  await waitFor(async () => {
    for (const node of f.nodes) {
      for (const e of node.running!.ctx.manager.store.all()) {
        if (e.record.epoch >= current.record.epoch) continue;
        if (e.status !== 'retired') return undefined;
        if ((await node.running!.ctx.manager.loadShare(e.record.epoch)) !== null) return undefined;
      }
    }
    return true;
  }, 30_000, 'every emptied earlier epoch retired (shares destroyed) on every node');
});

test('backup then restore into a fresh data dir gives a node that signs the next round', { timeout: 240_000 }, async (t) => {
  if (!fed) return t.skip('the sweep test did not start the federation');
  const f = fed;
  // The most senior committee member of the locked-in key: every threshold set of a round in
  // which it is online and seen by all starts with it (seniority order, first t).
  const key = f.nodes[0]!.running!.ctx.manager.current()!;
  const target = f.nodes.find((n) => n.peerId === key.record.committee[0]!.peerId)!;
  const before = await epochOf(target);
  assert.ok(before?.hasShare && before.epoch === key.record.epoch, `${target.name} holds its share of the locked-in epoch ${key.record.epoch}`);
  const activeEpoch = async () => (await target.api().get<EpochsResponse>('/v1/epochs')).epochs.find((e) => e.active)?.record.epoch;
  const activeBefore = await activeEpoch();

  // Online backup (the CLI's own code path) while the node runs, then the node stops for good in
  // its old directory: the old directory is deleted, so only the archive carries the node.
  const archive = join(f.dir, `${target.name}.backup`);
  const saved = await backupCommand(target.config, archive);
  assert.equal(saved.peerId, target.peerId);
  assert.ok(saved.keyFiles.includes('identity.key') && saved.keyFiles.includes(`share-${before.epoch}.key`), `archive holds ${saved.keyFiles.join(', ')}`);
  const oldDir = target.dir;
  await target.stop();
  rmSync(oldDir, { recursive: true, force: true });
  // As the runbook says: the peers still hold the old instance's last ping (stamped after the
  // backup) until they drop it after p2p.peerTimeoutMs; a copy started before that is refused as
  // a doppelganger (exit 76), since nothing tells a stopped instance from a running one.
  const others = f.nodes.filter((n) => n !== target);
  await waitFor(() => others.every((o) => !o.running!.ctx.network.table.has(target.peerId)), 60_000, `the others dropped ${target.name}'s old instance`);

  target.moveTo(join(f.dir, `${target.name}-restored`));
  const restored = restoreCommand(target.config, archive);
  assert.equal(restored.peerId, target.peerId);
  const restartedAt = Date.now();
  await target.start();
  assert.equal(target.running!.ctx.peerId, target.peerId, 'same peer id after restore');
  // Both peer tables persist (the restored one came with the archive): wait for fresh pings.
  const seenSince = (by: typeof target, of: typeof target) => (by.running!.ctx.network.table.get(of.peerId)?.lastSeen ?? 0) > restartedAt;
  await waitFor(
    () => others.every((o) => seenSince(o, target) && seenSince(target, o)),
    60_000,
    `${target.name} (restored) and the others ping each other`,
  );
  const after = await epochOf(target);
  assert.deepEqual(after, before, 'the restored node holds the same current epoch and share as before');
  assert.equal(await activeEpoch(), activeBefore, 'GET /v1/epochs names the same active epoch');

  // A transfer requested after the restore is paid by a round the restored node signed in.
  const tr = await requestTransfer(f, others[0]!, 60_000);
  const paid = await waitFor(async () => {
    const s = await transferState(others[0]!, tr.id);
    return s?.state === 'paid' && s.txid ? s.txid : undefined;
  }, 120_000, `transfer ${tr.id} paid`);
  const onChain = await waitFor(async () => (await f.chain.getAddressUtxos(tr.payoutAddress)).find((u) => u.txid === paid && u.status.confirmed), 30_000, `payout ${paid} confirmed on the devchain`);
  assert.ok(onChain.value > 0n);

  const db = target.running!.ctx.db;
  const round = await waitFor(() => listRounds(db, 200).find((r) => r.txid === paid && r.status === 'completed'), 30_000, `${target.name} logged the round that paid ${paid}`);
  assert.ok(round.thresholdSet?.includes(target.peerId), `threshold set ${round.thresholdSet?.join(',')} includes the restored node`);
  const own = readTimeline(db, round.roundId).entries.find((e) => e.phase === 'ceremony' && e.decision === 'sent' && e.reason === 'signature-shares' && e.peer === target.peerId);
  assert.ok(own, `${target.name} released its signature shares in round ${round.roundId}`);
  assert.ok(signedSessions(db, round.roundId).some((s) => s.digest === own.digest), 'the restored database records the signed session before the share left');
  const cosigners = others.filter((o) => round.thresholdSet!.includes(o.peerId));
  assert.ok(cosigners.length > 0);
  // A cosigner accepts a share only after checking it against the signer's verifying share.
  const verifiedBy = cosigners.filter((o) =>
    readTimeline(o.running!.ctx.db, round.roundId).entries.some((e) => e.phase === 'ceremony' && e.decision === 'accept' && e.reason === 'signature-shares' && e.peer === target.peerId),
  );
  assert.ok(verifiedBy.length > 0, `a cosigner (${cosigners.map((o) => o.name).join(', ')}) verified ${target.name}'s signature shares in round ${round.roundId}`);
});
