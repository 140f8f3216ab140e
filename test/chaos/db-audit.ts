// Reads each node's SQLite database (read-only, after the node stopped) and its log, and judges
// the safety properties a chaos run must keep: database integrity, nonce-commitment uniqueness,
// agreement on the group key, no transfer paid twice, every adopted epoch record within the trust
// rules, no honest member excluded by evidence, and whether each Byzantine node was named.
import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { addressToScript } from '../../src/chain/network.js';
import type { ChainAudit } from './chain-audit.js';

export interface RoundLogRow {
  roundId: number;
  phase: string;
  time: number;
  peer: string | null;
  /** The message digest or txid the step concerns (phase 'chain': the custody txid). */
  digest?: string | null;
  decision: string;
  reason: string | null;
}

export interface NodeDbView {
  name: string;
  peerId: string;
  file: string;
  integrity: string;
  commitments: Array<{ commitment: string; roundId: number; attempt: number }>;
  /** Epochs with their output key and status, ascending. */
  epochs: Array<{ epoch: number; outputKey: string; status: string }>;
  transfers: Array<{ requestId: string; state: string; txid: string | null }>;
  requests: Array<{ id: string; payoutAddress: string; amountSats: bigint }>;
  custodyTxs: Array<{ txid: string; state: string; inputs: string[]; transferIds: string[] }>;
  roundLog: RoundLogRow[];
  blocklist: Array<{ peerId: string; reason: string; since: number; until: number }>;
  /** Stored epoch records with the peer ids that signed them, ascending. */
  epochRecords: Array<{ record: AuditRecord; signers: string[] }>;
  /** Peer ids with stored violation evidence. */
  violations: string[];
}

/** The fields of an epoch record the trust audit reads. */
export interface AuditRecord {
  kind: 'keygen' | 'regroup';
  epoch: number;
  previousEpoch: number | null;
  outputKey: string;
  committee: Array<{ peerId: string }>;
  threshold: number;
}

export function readNodeDb(name: string, peerId: string, file: string): NodeDbView {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const integrity = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ');
    const has = (t: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t) !== undefined;
    const all = <T>(t: string, sql: string): T[] => (has(t) ? (db.prepare(sql).all() as T[]) : []);
    return {
      name,
      peerId,
      file,
      integrity,
      commitments: all<{ commitment: string; round_id: number; attempt: number }>('signed_commitments', 'SELECT commitment, round_id, attempt FROM signed_commitments').map((r) => ({
        commitment: r.commitment,
        roundId: r.round_id,
        attempt: r.attempt,
      })),
      epochs: all<{ epoch: number; record_json: string; status: string }>('epochs', 'SELECT epoch, record_json, status FROM epochs ORDER BY epoch').map((r) => ({
        epoch: r.epoch,
        outputKey: (JSON.parse(r.record_json) as { outputKey: string }).outputKey,
        status: r.status,
      })),
      transfers: all<{ request_id: string; state: string; txid: string | null }>('transfers', 'SELECT request_id, state, txid FROM transfers').map((r) => ({ requestId: r.request_id, state: r.state, txid: r.txid })),
      requests: all<{ record: string }>('transfer_requests', 'SELECT record FROM transfer_requests').map((r) => {
        const rec = JSON.parse(r.record) as { id: string; payoutAddress: string; amountSats: string };
        return { id: rec.id, payoutAddress: rec.payoutAddress, amountSats: BigInt(rec.amountSats) };
      }),
      custodyTxs: all<{ txid: string; state: string; inputs: string; transfer_ids: string }>('custody_txs', 'SELECT txid, state, inputs, transfer_ids FROM custody_txs').map((r) => ({
        txid: r.txid,
        state: r.state,
        inputs: (JSON.parse(r.inputs) as Array<{ txid: string; vout: number }>).map((o) => `${o.txid}:${o.vout}`),
        transferIds: JSON.parse(r.transfer_ids) as string[],
      })),
      roundLog: all<{ round_id: number; phase: string; time: number; peer: string | null; digest: string | null; decision: string; reason: string | null }>(
        'round_log',
        'SELECT round_id, phase, time, peer, digest, decision, reason FROM round_log ORDER BY seq',
      ).map((r) => ({ roundId: r.round_id, phase: r.phase, time: r.time, peer: r.peer, digest: r.digest, decision: r.decision, reason: r.reason })),
      blocklist: all<{ peer_id: string; reason: string; since: number; until: number }>('p2p_blocklist', 'SELECT peer_id, reason, since, until FROM p2p_blocklist').map((r) => ({
        peerId: r.peer_id,
        reason: r.reason,
        since: r.since,
        until: r.until,
      })),
      epochRecords: all<{ record_json: string; signatures_json: string }>('epochs', 'SELECT record_json, signatures_json FROM epochs ORDER BY epoch').map((r) => ({
        record: JSON.parse(r.record_json) as AuditRecord,
        signers: (JSON.parse(r.signatures_json) as Array<{ peerId: string }>).map((a) => a.peerId),
      })),
      violations: all<{ peer_id: string }>('violations', 'SELECT DISTINCT peer_id FROM violations').map((r) => r.peer_id),
    };
  } finally {
    db.close();
  }
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  data?: unknown;
}

export function integrityCheck(views: NodeDbView[], extra: Array<{ name: string; integrity: string }> = []): Check {
  const bad = [...views, ...extra].filter((v) => v.integrity !== 'ok');
  return {
    name: 'db-integrity',
    ok: bad.length === 0,
    detail: bad.length ? bad.map((v) => `${v.name}: ${v.integrity}`).join('; ') : `PRAGMA integrity_check ok on ${views.length + extra.length} databases`,
  };
}

/** No nonce commitment in two sessions, on one node or across nodes; some recorded once anything was signed. */
export function commitmentCheck(views: NodeDbView[], signedTxs: number): Check {
  const seen = new Map<string, string>();
  const dups: string[] = [];
  let total = 0;
  for (const v of views) {
    for (const c of v.commitments) {
      total++;
      const where = `${v.name} round ${c.roundId} attempt ${c.attempt}`;
      const prev = seen.get(c.commitment);
      if (prev) dups.push(`${c.commitment.slice(0, 16)}… in ${prev} and ${where}`);
      else seen.set(c.commitment, where);
    }
  }
  const none = signedTxs > 0 && total === 0;
  return {
    name: 'nonce-commitments-unique',
    ok: dups.length === 0 && !none,
    detail: dups.length ? `reused: ${dups.join('; ')}` : none ? `${signedTxs} custody transactions signed but no commitment recorded` : `${total} signed commitments over ${views.length} nodes, all distinct`,
  };
}

/**
 * Epoch trust (README "Trust model"): on every node, every stored record has t >= 2 and every
 * member's signature; each later epoch follows the one before by one, carries the signatures of
 * at least t_old of the previous committee, and a regroup keeps the key. No honest peer has
 * stored violation evidence against it on any node. Signatures were verified when adopted;
 * this checks who signed, from the database.
 */
export function epochTrustCheck(views: NodeDbView[], honestPeerIds: readonly string[]): Check {
  const bad: string[] = [];
  let records = 0;
  for (const v of views) {
    let prev: AuditRecord | null = null;
    for (const { record: r, signers } of v.epochRecords) {
      records++;
      const at = `${v.name} epoch ${r.epoch}`;
      const signed = new Set(signers);
      if (r.threshold < 2 || r.threshold > r.committee.length) bad.push(`${at}: threshold ${r.threshold} of ${r.committee.length}`);
      const missing = r.committee.filter((m) => !signed.has(m.peerId)).map((m) => m.peerId);
      if (missing.length) bad.push(`${at}: unsigned by ${missing.join(',')}`);
      if (prev === null) {
        if (r.previousEpoch !== null) bad.push(`${at}: first stored epoch names previous ${r.previousEpoch}`);
      } else {
        if (r.previousEpoch !== prev.epoch || r.epoch !== prev.epoch + 1) bad.push(`${at}: does not follow epoch ${prev.epoch}`);
        const consent = prev.committee.filter((m) => signed.has(m.peerId)).length;
        if (consent < prev.threshold) bad.push(`${at}: ${consent} of the previous committee signed, threshold ${prev.threshold}`);
        if (r.kind === 'regroup' && r.outputKey !== prev.outputKey) bad.push(`${at}: regroup changed the key`);
      }
      prev = r;
    }
    const framed = v.violations.filter((p) => honestPeerIds.includes(p));
    if (framed.length) bad.push(`${v.name} holds violation evidence against honest ${framed.join(',')}`);
  }
  return {
    name: 'epoch-trust',
    ok: bad.length === 0,
    detail: bad.length ? bad.slice(0, 10).join('; ') : `${records} stored epoch records on ${views.length} nodes within the trust rules; no honest peer flagged`,
  };
}

/** Every node's latest locked (or adopted) epoch has the same output key, and it is the one the run locked in. */
export function groupKeyCheck(views: NodeDbView[], expected: string | null): Check {
  const keys = views.map((v) => {
    const e = [...v.epochs].reverse().find((x) => x.status === 'locked') ?? [...v.epochs].reverse().find((x) => x.status === 'adopted');
    return { name: v.name, key: e?.outputKey ?? null, epoch: e?.epoch ?? null };
  });
  const distinct = new Set(keys.map((k) => k.key));
  const ok = distinct.size === 1 && keys[0]!.key !== null && (expected === null || keys[0]!.key === expected);
  return {
    name: 'group-key-agreement',
    ok,
    detail: ok ? `all ${views.length} nodes hold epoch ${keys[0]!.epoch} key ${keys[0]!.key!.slice(0, 16)}…` : keys.map((k) => `${k.name}: epoch ${k.epoch} ${k.key?.slice(0, 16) ?? 'none'}`).join('; '),
    data: keys,
  };
}

/**
 * No transfer paid twice: for every request any node knows, at most one confirmed output pays its
 * payout address, and with the right amount; nodes that call it paid agree on that transaction;
 * and no two confirmed custody transactions known to the nodes share an input.
 */
export function paymentCheck(views: NodeDbView[], chain: ChainAudit, transferFee: bigint): Check {
  const problems: string[] = [];
  const requests = new Map<string, { payoutAddress: string; amountSats: bigint }>();
  for (const v of views) for (const r of v.requests) requests.set(r.id, r);
  let paid = 0;
  for (const [id, r] of requests) {
    const outs = chain.outputsByScript.get(addressToScript(r.payoutAddress, 'regtest')) ?? [];
    if (outs.length > 1) problems.push(`${id}: paid ${outs.length} times (${outs.map((o) => `${o.txid}:${o.vout}`).join(', ')})`);
    for (const o of outs) if (o.value !== r.amountSats - transferFee) problems.push(`${id}: payout ${o.value} sats, expected ${r.amountSats - transferFee}`);
    if (outs.length >= 1) paid++;
    const claims = new Set(views.flatMap((v) => v.transfers.filter((t) => t.requestId === id && t.state === 'paid').map((t) => t.txid)));
    if (claims.size > 1) problems.push(`${id}: nodes disagree on the paying transaction (${[...claims].join(', ')})`);
    for (const txid of claims) if (!outs.some((o) => o.txid === txid)) problems.push(`${id}: a node calls it paid by ${txid}, which pays nothing to its address on chain`);
  }
  const confirmedInputs = new Map<string, string>();
  for (const v of views) {
    for (const t of v.custodyTxs) {
      if (!chain.txHeight.has(t.txid)) continue;
      for (const i of t.inputs) {
        const prev = confirmedInputs.get(i);
        if (prev && prev !== t.txid) problems.push(`input ${i} in confirmed custody txs ${prev} and ${t.txid}`);
        confirmedInputs.set(i, t.txid);
      }
    }
  }
  problems.push(...chain.doubleSpends.map((d) => `double spend on chain: ${d}`));
  return {
    name: 'no-double-payment',
    ok: problems.length === 0,
    detail: problems.length ? problems.slice(0, 20).join('; ') : `${requests.size} transfer requests, ${paid} paid once each; ${confirmedInputs.size} custody inputs spent once; no double spend in ${chain.txs} confirmed txs`,
  };
}

/**
 * Every transfer a node reports paid has exactly one output to its payout address on the best
 * chain, in the transaction the node names. (A payment a reorg took away and the node did not
 * notice fails here: the node still says paid, the chain holds nothing.)
 */
export function paidOnBestChainCheck(views: NodeDbView[], chain: ChainAudit): Check {
  const problems: string[] = [];
  const requests = new Map<string, { payoutAddress: string }>();
  for (const v of views) for (const r of v.requests) requests.set(r.id, r);
  let claims = 0;
  for (const v of views) {
    for (const t of v.transfers) {
      if (t.state !== 'paid') continue;
      claims++;
      const r = requests.get(t.requestId);
      if (!r) {
        problems.push(`${v.name}: ${t.requestId} reported paid, but no node knows its request`);
        continue;
      }
      const outs = chain.outputsByScript.get(addressToScript(r.payoutAddress, 'regtest')) ?? [];
      if (outs.length !== 1) problems.push(`${v.name}: ${t.requestId} reported paid by ${t.txid}, but ${outs.length} outputs pay its address on the best chain`);
      else if (outs[0]!.txid !== t.txid) problems.push(`${v.name}: ${t.requestId} reported paid by ${t.txid}, but the best chain pays it in ${outs[0]!.txid}`);
    }
  }
  return {
    name: 'paid-on-best-chain',
    ok: problems.length === 0,
    detail: problems.length ? problems.slice(0, 20).join('; ') : `${claims} paid reports over ${views.length} nodes, each backed by exactly one output on the best chain (tip ${chain.tip})`,
  };
}

/**
 * Whether a node noticed that a reorg disconnected `txid`'s block: true when it never had the tx
 * confirmed before `since` (nothing to notice), else it needs a round-log row (phase 'chain')
 * for that tx after `since` saying its block left the best chain.
 */
export function reorgNoticed(v: NodeDbView, txid: string, since: number): boolean {
  const rows = v.roundLog.filter((r) => r.phase === 'chain' && r.digest === txid);
  if (!rows.some((r) => r.decision === 'confirmed' && r.time < since)) return true;
  return rows.some((r) => r.time >= since && /left the best chain/.test(r.reason ?? ''));
}

/** Every node that had a reorged custody tx confirmed noticed the reorg from the chain; at least one had. */
export function reorgFollowedCheck(views: NodeDbView[], faults: Array<{ index: number; startedAt: number; reorged?: string[] }>): Check {
  const problems: string[] = [];
  const parts: string[] = [];
  for (const f of faults) {
    const txids = f.reorged ?? [];
    const holders = views.filter((v) => txids.some((txid) => v.roundLog.some((r) => r.phase === 'chain' && r.digest === txid && r.decision === 'confirmed' && r.time < f.startedAt)));
    if (holders.length === 0) problems.push(`fault ${f.index}: no node had the reorged custody txs (${txids.map((t) => t.slice(0, 12)).join(', ') || 'none'}) confirmed: the fault tested nothing`);
    const missed = holders.filter((v) => !txids.every((txid) => reorgNoticed(v, txid, f.startedAt))).map((v) => v.name);
    if (missed.length) problems.push(`fault ${f.index}: ${missed.join(', ')} never noticed the disconnected block`);
    parts.push(`fault ${f.index}: ${txids.length} custody txs reorged, noticed by ${holders.length - missed.length} of ${holders.length} nodes that had them confirmed`);
  }
  return { name: 'reorg-followed', ok: problems.length === 0, detail: problems.length ? problems.join('; ') : parts.join('; ') };
}

/** Pino lines of a node log with `msg` (and optional fields) in [from, to]. */
export function logLines(file: string, msg: string, from: number, to: number): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  const out: Array<Record<string, unknown>> = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes(msg)) continue;
    try {
      const j = JSON.parse(line) as Record<string, unknown>;
      const t = typeof j.time === 'number' ? j.time : Date.parse(String(j.time));
      if (j.msg === msg && t >= from && t <= to) out.push(j);
    } catch {
      // not a JSON line (stack traces, tsx warnings)
    }
  }
  return out;
}

export interface Evidence {
  /** Where honest nodes record this misbehaviour, and how to match it. */
  source: 'round-log' | 'rejections' | 'epoch-refusals';
  describe: string;
  roundLog?: (r: RoundLogRow, culprit: string) => boolean;
  rejection?: (reason: string) => boolean;
  /** epoch-refusals: one reason an honest node's epoch sync gave for refusing a record the culprit served. */
  refusal?: (reason: string) => boolean;
}

/** What an honest node records for each Byzantine mode. */
export const EVIDENCE: Record<string, Evidence> = {
  'wrong-proposal': {
    source: 'round-log',
    describe: 'proposal ignored as a different document',
    roundLog: (r, c) => r.peer === c && r.phase === 'proposal' && r.decision === 'ignore' && r.reason === 'different-document',
  },
  equivocate: { source: 'round-log', describe: 'culprit EQUIVOCATION (two signed proposals)', roundLog: (r, c) => r.peer === c && r.decision === 'culprit' && /^EQUIVOCATION: signed two different/.test(r.reason ?? '') },
  'invalid-share': { source: 'round-log', describe: 'culprit INVALID_SIGNATURE_SHARE', roundLog: (r, c) => r.peer === c && r.decision === 'culprit' && /^INVALID_SIGNATURE_SHARE/.test(r.reason ?? '') },
  'copied-proof': { source: 'round-log', describe: 'culprit INVALID_TSS_PROOF', roundLog: (r, c) => r.peer === c && r.decision === 'culprit' && /^INVALID_TSS_PROOF/.test(r.reason ?? '') },
  replay: { source: 'rejections', describe: 'gossip rejected from-mismatch (a replayed envelope of another author)', rejection: (x) => x === 'from-mismatch' },
  garbage: { source: 'rejections', describe: 'gossip rejected not-utf8/not-json/bad-envelope/bad-payload', rejection: (x) => ['not-utf8', 'not-json', 'bad-envelope', 'bad-payload'].includes(x) },
  oversized: { source: 'rejections', describe: 'gossip rejected oversized', rejection: (x) => x === 'oversized' },
  flood: { source: 'rejections', describe: 'gossip rejected replay (the flooded copies)', rejection: (x) => x === 'replay' },
  // The epoch attacks (test/chaos/epoch-attacks.ts): honest sync refuses what the attacker serves.
  'forged-epoch': {
    source: 'epoch-refusals',
    describe: 'forged keygen epoch refused by epoch sync (a committee member without a stake, no consent of the key holders, t, keygen closed)',
    refusal: (x) => /has no stake known here|of the previous committee signed|seniority|threshold|keygen/.test(x),
  },
  'replayed-record': {
    source: 'epoch-refusals',
    describe: 'replayed superseded records refused at or below the sync cursor, or taken as nothing new from a peer announcing a newer epoch',
    refusal: (x) => /at or below the sync cursor|served only epochs held here/.test(x),
  },
};

/**
 * The reasons `file`'s node gave, in [from, to], for taking nothing from the epoch records
 * `culprit` served: each refusal's reason, and 'served only epochs held here' for a reply that
 * held nothing new although the culprit announced a newer epoch.
 */
export function epochRefusals(file: string, culprit: string, from: number, to: number): string[] {
  const refused = logLines(file, 'epoch records refused', from, to)
    .filter((l) => l.from === culprit)
    .flatMap((l) => (Array.isArray(l.rejected) ? (l.rejected as Array<{ reason?: unknown }>).map((r) => String(r.reason)) : []));
  const stale = logLines(file, 'epoch sync: nothing new from a peer that announced a newer epoch', from, to)
    .filter((l) => l.from === culprit)
    .map((l) => `announced epoch ${String(l.announced)}, served only epochs held here`);
  return [...refused, ...stale];
}

export interface CulpritFinding {
  mode: string;
  culprit: string;
  culpritName: string;
  /** What the Byzantine node itself counted doing (from its control endpoint). */
  actions: number;
  /** Honest nodes that recorded the evidence. */
  namedBy: string[];
  ok: boolean;
  detail: string;
}

/**
 * A Byzantine fault is judged when the node actually misbehaved (actions > 0): at least one
 * honest node must hold the evidence for its mode in the window. A node that never got the chance
 * (e.g. it was not picked to sign) fails the check too: the run did not test what it set out to.
 */
export function culpritFinding(
  fault: { mode: string; culprit: string; culpritName: string; from: number; to: number; actions: number },
  honest: Array<{ view: NodeDbView; logFile: string }>,
): CulpritFinding {
  const ev = EVIDENCE[fault.mode];
  if (!ev) return { ...fault, namedBy: [], ok: false, detail: `no evidence rule for mode ${fault.mode}` };
  const namedBy: string[] = [];
  for (const h of honest) {
    let found = false;
    if (ev.source === 'round-log') found = h.view.roundLog.some((r) => r.time >= fault.from && r.time <= fault.to && ev.roundLog!(r, fault.culprit));
    else if (ev.source === 'epoch-refusals') found = epochRefusals(h.logFile, fault.culprit, fault.from, fault.to).some((x) => ev.refusal!(x));
    else found = logLines(h.logFile, 'message rejected', fault.from, fault.to).some((l) => l.from === fault.culprit && ev.rejection!(String(l.reason)));
    if (found) namedBy.push(h.view.name);
  }
  const ok = fault.actions > 0 && namedBy.length > 0;
  const detail =
    fault.actions === 0
      ? `${fault.culpritName} never got to misbehave (${fault.mode}: no action counted)`
      : namedBy.length
        ? `${fault.culpritName} (${fault.mode}, ${fault.actions} actions): ${ev.describe} on ${namedBy.join(', ')}`
        : `${fault.culpritName} (${fault.mode}, ${fault.actions} actions): no honest node recorded ${ev.describe}`;
  return { mode: fault.mode, culprit: fault.culprit, culpritName: fault.culpritName, actions: fault.actions, namedBy, ok, detail };
}

/** Crash, pause and partition have no culprit in the protocol's sense (silence is no proof); report whether rounds noticed. */
export function silenceNoticed(peerId: string, from: number, to: number, honest: NodeDbView[]): string[] {
  return honest
    .filter((v) =>
      v.roundLog.some((r) => r.time >= from && r.time <= to && ((r.decision === 'timeout' && (r.reason ?? '').includes(peerId)) || (r.decision === 'culprit' && r.peer === peerId))),
    )
    .map((v) => v.name);
}

/** One epoch attack of a chaos run, as the audit judges it. */
export interface EpochAttackFault {
  index: number;
  attacker: string;
  from: number;
  to: number;
  offered: Array<{ mode: string; epoch: number; outputKey: string; hash: string }>;
}

/**
 * The epoch attacks moved no honest node: none stores a forged record or its key; a replayed
 * record moved nobody back (every honest node's latest epoch is at or past it; a stored epoch is
 * never replaced, so it cannot have been taken in place of one); and during the attack no
 * honest node blocklisted an honest peer for anything but silence. (Evidence against honest
 * peers, and the trust rules of every stored record, are epochTrustCheck's.)
 */
export function epochAttackCheck(views: NodeDbView[], attacks: EpochAttackFault[], honestPeerIds: readonly string[]): Check {
  const bad: string[] = [];
  const parts: string[] = [];
  for (const a of attacks) {
    const honest = views.filter((v) => v.peerId !== a.attacker && honestPeerIds.includes(v.peerId));
    if (a.offered.length === 0) bad.push(`fault ${a.index}: the attacker served nothing`);
    for (const o of a.offered) {
      for (const v of honest) {
        const latest = v.epochRecords.at(-1)?.record;
        if (o.mode === 'forged-epoch') {
          if (v.epochRecords.some((e) => e.record.outputKey === o.outputKey)) bad.push(`fault ${a.index}: ${v.name} stores the forged key of epoch ${o.epoch}`);
        } else if (!latest || latest.epoch < o.epoch) bad.push(`fault ${a.index}: ${v.name}'s latest epoch ${latest?.epoch ?? 'none'} is below the replayed epoch ${o.epoch}`);
      }
    }
    for (const v of honest) {
      const blocked = v.blocklist.filter((b) => honestPeerIds.includes(b.peerId) && b.peerId !== a.attacker && b.since >= a.from && b.since <= a.to && b.reason !== 'TIMEOUT');
      if (blocked.length) bad.push(`fault ${a.index}: ${v.name} blocked honest ${blocked.map((b) => `${b.peerId} (${b.reason})`).join(', ')}`);
    }
    parts.push(`fault ${a.index}: ${a.offered.length} records served (${[...new Set(a.offered.map((o) => o.mode))].join(', ')}), none adopted by ${honest.length} honest nodes`);
  }
  return { name: 'epoch-attacks-refused', ok: bad.length === 0, detail: bad.length ? bad.slice(0, 10).join('; ') : parts.join('; ') };
}
