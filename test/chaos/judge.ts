// Judging a finished chaos run: the nodes are stopped (databases at rest), the devchain is still
// up for the audit. Produces the report's checks and its Byzantine findings.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ProcessFederation } from '../../src/devnet/federation.js';
import { auditChain } from './chain-audit.js';
import {
  commitmentCheck, culpritFinding, epochAttackCheck, epochTrustCheck, groupKeyCheck, integrityCheck, paidOnBestChainCheck, paymentCheck, readNodeDb, reorgFollowedCheck, reorgNoticed, silenceNoticed,
  type Check, type CulpritFinding,
} from './db-audit.js';
import type { Fault } from './schedule.js';
import type { Transfer } from './workload.js';

const TRANSFER_FEE = 2_000n;

export interface JudgedFault extends Fault {
  target: string;
  startedAt: number;
  healedAt: number | null;
  recoveryRounds: number | null;
  actions?: Record<string, number>;
  noticedBy?: string[];
  /** Reorg: the custody txids in the disconnected blocks. */
  reorged?: string[];
  /** Epoch attacks: the records the attacker served. */
  offered?: Array<{ mode: string; epoch: number; outputKey: string; hash: string }>;
  error?: string;
}

export interface Judgement {
  checks: Check[];
  culprits: CulpritFinding[];
}

function devchainIntegrity(dir: string): Array<{ name: string; integrity: string }> {
  const d = join(dir, 'devchain');
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter((x) => x.endsWith('.sqlite'))
    .map((file) => {
      const db = new Database(join(d, file), { readonly: true });
      try {
        return { name: `devchain/${file}`, integrity: (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ') };
      } finally {
        db.close();
      }
    });
}

/** Stops the nodes, audits the chain and every database, and stops the devchain. */
export async function judgeRun(
  fed: ProcessFederation,
  run: { dir: string; roundMs: number; recoveryBound: number; groupKey: string | null; faults: JudgedFault[]; transfers: Transfer[] },
): Promise<Judgement> {
  await Promise.allSettled(fed.nodes.map((x) => x.stop()));
  const chain = await auditChain(fed.devchain.url);
  const views = fed.nodes.map((x) => readNodeDb(x.name, x.peerId, x.dbFile));
  const byName = new Map(views.map((v) => [v.name, v]));
  const names = fed.nodes.map((x) => x.name);
  const signedTxs = new Set(views.flatMap((v) => v.custodyTxs.map((t) => t.txid)).filter((t) => chain.txHeight.has(t))).size;
  const culprits: CulpritFinding[] = [];
  for (const r of run.faults) {
    // The window: from the fault's start to two rounds after it healed (messages in flight), and never into the next fault.
    const next = run.faults[r.index + 1];
    const to = Math.min((r.healedAt ?? Date.now()) + 2 * run.roundMs, next?.startedAt ?? Infinity);
    const honest = fed.nodes.filter((x) => x.index !== r.node && !(r.group ?? []).includes(x.index));
    if (r.kind === 'byzantine') {
      const actions = Object.values(r.actions ?? {}).reduce((a, b) => a + b, 0);
      culprits.push(
        culpritFinding(
          { mode: r.mode!, culprit: r.target, culpritName: names[r.node]!, from: r.startedAt, to, actions },
          honest.map((x) => ({ view: byName.get(x.name)!, logFile: x.logFile })),
        ),
      );
    } else if (r.kind === 'reorg') r.noticedBy = views.filter((v) => (r.reorged ?? []).every((txid) => reorgNoticed(v, txid, r.startedAt))).map((v) => v.name);
    else r.noticedBy = silenceNoticed(r.target, r.startedAt, to, honest.map((x) => byName.get(x.name)!));
  }
  await fed.stop();

  const paid = run.transfers.filter((t) => t.paidAt !== null).length;
  const checks: Check[] = [
    {
      name: 'confirmed-txs-valid',
      ok: chain.invalid.length === 0,
      detail: chain.invalid.length
        ? chain.invalid.slice(0, 10).join('; ')
        : `${chain.txs} confirmed txs in ${chain.blocks} blocks: ${chain.inputsVerified.p2tr} P2TR and ${chain.inputsVerified.p2wpkh} P2WPKH input signatures verify, every input spends an earlier output (${chain.nullInputTxs} coinbase/faucet txs)`,
    },
    paymentCheck(views, chain, TRANSFER_FEE),
    paidOnBestChainCheck(views, chain),
    commitmentCheck(views, signedTxs),
    integrityCheck(views, devchainIntegrity(run.dir)),
    groupKeyCheck(views, run.groupKey),
    epochTrustCheck(views, fed.nodes.filter((x) => !run.faults.some((r) => r.kind === 'byzantine' && r.node === x.index)).map((x) => x.peerId)),
    {
      name: 'culprits-named',
      ok: culprits.every((c) => c.ok),
      detail: culprits.length ? culprits.map((c) => c.detail).join('; ') : 'no Byzantine fault in this schedule',
    },
    {
      name: 'transfers-resume',
      ok: run.faults.every((r) => r.recoveryRounds !== null && r.recoveryRounds <= run.recoveryBound),
      detail: run.faults.length
        ? run.faults.map((r) => `fault ${r.index} (${r.kind}): ${r.recoveryRounds === null ? 'probe not paid' : `${r.recoveryRounds} rounds`}`).join('; ') + ` (bound ${run.recoveryBound})`
        : 'no faults',
    },
    {
      name: 'all-transfers-paid',
      ok: paid === run.transfers.length,
      detail:
        `${paid} of ${run.transfers.length} requested transfers paid on chain` +
        (paid < run.transfers.length ? `; unpaid: ${run.transfers.filter((t) => t.paidAt === null).map((t) => t.id.slice(0, 8)).join(', ')}` : ''),
    },
  ];
  const attacks = run.faults.filter((r) => r.kind === 'byzantine' && r.offered !== undefined);
  if (attacks.length) {
    const honestIds = fed.nodes.filter((x) => !run.faults.some((r) => r.kind === 'byzantine' && r.node === x.index)).map((x) => x.peerId);
    const window = (r: JudgedFault) => Math.min((r.healedAt ?? Date.now()) + 2 * run.roundMs, run.faults[r.index + 1]?.startedAt ?? Infinity);
    checks.push(epochAttackCheck(views, attacks.map((r) => ({ index: r.index, attacker: r.target, from: r.startedAt, to: window(r), offered: r.offered! })), honestIds));
  }
  const reorgs = run.faults.filter((r) => r.kind === 'reorg' && !r.error);
  if (reorgs.length) checks.push(reorgFollowedCheck(views, reorgs));
  const faultErrors = run.faults.filter((r) => r.error);
  if (faultErrors.length) checks.push({ name: 'faults-injected', ok: false, detail: faultErrors.map((r) => `fault ${r.index}: ${r.error}`).join('; ') });
  return { checks, culprits };
}
