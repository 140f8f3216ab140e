// `metanode verify-epoch --from <url> ...`: ask several nodes for their epoch key records and
// check that they all report the same key, and that each record is self-consistent (the output
// key is the Taproot tweak of the internal key, the vault address matches, identifiers follow
// from peer ids). A client does this before trusting a deposit address.
import { errorMessage, MetanodeError } from '../../util/errors.js';
import { createApiClient, type ApiClient } from '../client.js';
import type { EpochJson } from '../json-types.js';
import { UsageError } from '../exit-codes.js';
import { identifierForPeer } from '../../crypto/identifiers.js';
import { taprootOutputKey, vaultAddress } from '../../crypto/taproot.js';
import type { EpochKey } from '../../crypto/types.js';
import type { View } from '../print.js';

export interface VerifyEpochOptions {
  from: string[];
  /** Epoch to verify; default the highest epoch any source reports. */
  epoch?: number;
  timeoutMs?: number;
  /** For tests: a client per URL. */
  clientFor?: (url: string) => ApiClient;
}

export interface SourceReport {
  url: string;
  ok: boolean;
  error?: string;
  /** Fields of this source's record that differ from the majority record. */
  differs: string[];
  problems: string[];
}

export interface VerifyEpochResult {
  agreed: boolean;
  epoch: number | null;
  outputKey: string | null;
  vaultAddress: string | null;
  threshold: number | null;
  committeeSize: number | null;
  sources: SourceReport[];
}

const FIELDS = ['network', 'outputKey', 'internalKey', 'threshold', 'committee', 'verifyingShares', 'commitments', 'vaultAddress'] as const;

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** Problems with one record on its own, independent of what other nodes say. */
export function selfCheck(e: EpochJson): string[] {
  const problems: string[] = [];
  const guard = (what: string, f: () => void) => {
    try {
      f();
    } catch (err) {
      problems.push(`${what}: ${errorMessage(err)}`);
    }
  };
  guard('taproot tweak', () => {
    if (taprootOutputKey(e.internalKey).outputKey !== e.outputKey) problems.push('output key is not the Taproot tweak of the internal key');
  });
  guard('vault address', () => {
    if (vaultAddress(e as EpochKey) !== e.vaultAddress) problems.push(`vault address ${e.vaultAddress} does not belong to the output key`);
  });
  const n = e.committee.length;
  if (!Number.isInteger(e.threshold) || e.threshold < 1 || e.threshold > n) problems.push(`threshold ${e.threshold} is not within 1..${n}`);
  guard('committee', () => {
    for (const m of e.committee) if (identifierForPeer(m.peerId) !== m.identifier) problems.push(`identifier of ${m.peerId} does not derive from its peer id`);
  });
  const ids = new Set(e.committee.map((m) => m.identifier));
  const shares = Object.keys(e.verifyingShares);
  if (shares.length !== ids.size || shares.some((s) => !ids.has(s))) problems.push('verifying shares do not match the committee');
  return problems;
}

export async function verifyEpochCommand(opts: VerifyEpochOptions): Promise<VerifyEpochResult> {
  const urls = [...new Set(opts.from)];
  if (urls.length === 0) throw new UsageError('give at least one --from <url>');
  const clientFor = opts.clientFor ?? ((u: string) => createApiClient(u, { timeoutMs: opts.timeoutMs ?? 10_000 }));
  const fetched = await Promise.all(
    urls.map(async (url) => {
      try {
        return { url, epochs: await clientFor(url).get<EpochJson[]>('/v1/epochs') };
      } catch (e) {
        return { url, error: errorMessage(e) };
      }
    }),
  );
  const all = fetched.flatMap((f) => ('epochs' in f && Array.isArray(f.epochs) ? f.epochs : []));
  if (all.length === 0 && fetched.every((f) => 'error' in f))
    throw new MetanodeError('NODE_UNREACHABLE', `no source answered: ${fetched.map((f) => `${f.url}: ${'error' in f ? f.error : ''}`).join('; ')}`);
  const epoch = opts.epoch ?? (all.length ? Math.max(...all.map((e) => e.epoch)) : null);

  const records = fetched.map((f) => ({ url: f.url, error: 'error' in f ? f.error : undefined, rec: 'epochs' in f ? f.epochs?.find((e) => e.epoch === epoch) : undefined }));
  // The reference is the record most sources agree on, so one liar is the one flagged.
  const counts = new Map<string, { n: number; rec: EpochJson }>();
  for (const r of records) {
    if (!r.rec) continue;
    const key = canonical(FIELDS.map((f) => r.rec![f]));
    const c = counts.get(key);
    counts.set(key, { n: (c?.n ?? 0) + 1, rec: r.rec });
  }
  const reference = [...counts.values()].sort((a, b) => b.n - a.n)[0]?.rec ?? null;

  const sources: SourceReport[] = records.map((r) => {
    if (r.error) return { url: r.url, ok: false, error: r.error, differs: [], problems: [] };
    if (!r.rec) return { url: r.url, ok: false, error: `has no epoch ${epoch}`, differs: [], problems: [] };
    const differs = reference ? FIELDS.filter((f) => canonical(r.rec![f]) !== canonical(reference[f])) : [];
    const problems = selfCheck(r.rec);
    return { url: r.url, ok: differs.length === 0 && problems.length === 0, differs: [...differs], problems };
  });
  return {
    agreed: sources.every((s) => s.ok) && reference !== null,
    epoch,
    outputKey: reference?.outputKey ?? null,
    vaultAddress: reference?.vaultAddress ?? null,
    threshold: reference?.threshold ?? null,
    committeeSize: reference?.committee.length ?? null,
    sources,
  };
}

export const verifyEpochSourcesView: View<SourceReport> = {
  columns: [
    { header: 'SOURCE', get: (s) => s.url },
    { header: 'OK', get: (s) => (s.ok ? 'yes' : 'NO') },
    { header: 'PROBLEM', get: (s) => s.error ?? [...s.differs.map((d) => `differs: ${d}`), ...s.problems].join('; ') },
  ],
};

export function renderVerifyEpoch(r: VerifyEpochResult, render: (d: unknown, v: View<SourceReport>) => string): string {
  const head = r.agreed
    ? `epoch ${r.epoch}: all ${r.sources.length} sources agree\noutput key: ${r.outputKey}\nvault:      ${r.vaultAddress}\nthreshold:  ${r.threshold} of ${r.committeeSize}`
    : `epoch ${r.epoch ?? '-'}: sources DISAGREE or failed checks`;
  return `${head}\n\n${render(r.sources, verifyEpochSourcesView)}`;
}
