// Output for every CLI command: the handler returns plain data, this renders it as an aligned
// table (arrays), a key/value list (objects), or JSON with --json.

export interface Column<T> {
  header: string;
  get(row: T): unknown;
  align?: 'left' | 'right';
}

export interface View<T = unknown> {
  /** Columns for a list; without them columns come from the rows' own scalar fields. */
  columns?: Column<T>[];
  /** For an object result: which fields to show as key/value lines (default: all, flattened). */
  fields?: Array<[label: string, get: (d: T) => unknown]>;
  /** Line shown for an empty list. */
  empty?: string;
}

export function toJsonText(data: unknown): string {
  return JSON.stringify(data, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

/** One cell: scalars as text, null/undefined as '-', lists joined, objects as compact JSON. */
export function cell(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length === 0 ? '-' : v.map(cell).join(',');
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
}

export function table(rows: string[][], headers: string[], align: Array<'left' | 'right'> = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (align[i] === 'right' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function flatten(obj: unknown, prefix = '', out: Array<[string, string]> = []): Array<[string, string]> {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj) && Object.keys(obj).length > 0) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.push([prefix || 'value', cell(obj)]);
  return out;
}

function keyValues(pairs: Array<[string, string]>): string {
  const w = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${(k + ':').padEnd(w + 1)} ${v}`).join('\n');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- views are typed where they are declared
export function render(data: unknown, opts: { json?: boolean; view?: View<any> }): string {
  if (opts.json) return toJsonText(data);
  const view = opts.view as View<unknown> | undefined;
  if (Array.isArray(data)) {
    if (data.length === 0) return view?.empty ?? '(none)';
    if (view?.columns) {
      return table(
        data.map((r) => view.columns!.map((c) => cell(c.get(r)))),
        view.columns.map((c) => c.header),
        view.columns.map((c) => c.align ?? 'left'),
      );
    }
    const keys = [...new Set(data.flatMap((r) => (r && typeof r === 'object' ? Object.keys(r) : [])))];
    if (keys.length === 0) return data.map(cell).join('\n');
    return table(
      data.map((r) => keys.map((k) => cell((r as Record<string, unknown>)[k]))),
      keys,
    );
  }
  if (data !== null && typeof data === 'object') {
    if (view?.fields) return keyValues(view.fields.map(([label, get]) => [label, cell(get(data))]));
    return keyValues(flatten(data));
  }
  return cell(data);
}

/** Unix ms (or seconds when `seconds`) as an ISO time without milliseconds; '-' when absent. */
export function time(v: unknown, seconds = false): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '-';
  return new Date(seconds ? v * 1000 : v).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Shorten long ids for tables: first 8 … last 6. */
export function short(v: unknown, keep = 8): string {
  if (typeof v !== 'string') return cell(v);
  return v.length > keep + 8 ? `${v.slice(0, keep)}…${v.slice(-6)}` : v;
}
