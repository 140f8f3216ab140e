// Reads each node's SQLite database (read-only, after the node stopped) and its log, and judges
// the safety properties a chaos run must keep: database integrity, nonce-commitment uniqueness,
// agreement on the group key, no transfer paid twice, and whether each Byzantine node was named.
import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { addressToScript } from '../../src/chain/network.js';
import type { ChainAudit } from './chain-audit.js';

export interface RoundLogRow {
  roundId: number;
  phase: string;
  time: number;
  peer: string | null;
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
      roundLog: all<{ round_id: number; phase: string; time: number; peer: string | null; decision: string; reason: string | null }>(
        'round_log',
        'SELECT round_id, phase, time, peer, decision, reason FROM round_log ORDER BY seq',
      ).map((r) => ({ roundId: r.round_id, phase: r.phase, time: r.time, peer: r.peer, decision: r.decision, reason: r.reason })),
      blocklist: all<{ peer_id: string; reason: string; since: number; until: number }>('p2p_blocklist', 'SELECT peer_id, reason, since, until FROM p2p_blocklist').map((r) => ({
        peerId: r.peer_id,
        reason: r.reason,
        since: r.since,
        until: r.until,
      })),
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
  source: 'round-log' | 'rejections';
  describe: string;
  roundLog?: (r: RoundLogRow, culprit: string) => boolean;
  rejection?: (reason: string) => boolean;
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
};

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
