// pino JSON lines on stdout, with redaction: a secret must never reach a log line, even when a
// caller logs a whole object holding one at any depth. Three formats of the same line:
//   json     one JSON object per line (files, log shippers);
//   journal  the JSON line behind a syslog priority prefix (<3> error ... <7> debug): journald
//            (SyslogLevelPrefix=yes, the default) strips it and files the line at that priority,
//            so `journalctl -p warning -u metanode` shows warnings and worse;
//   pretty   `2026-01-02T03:04:05.678Z WARN  [p2p] message key=value` for a terminal.
// `auto` picks journal when systemd connected stdout to the journal (JOURNAL_STREAM set), pretty
// on a terminal, json otherwise.
import { fstatSync } from 'node:fs';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Field names whose values are never logged, matched case-insensitively at any depth. */
export const SECRET_KEYS = [
  'secret', 'secretKey', 'signingShare', 'share', 'shares', 'nonce', 'nonces', 'password', 'passphrase',
  'privateKey', 'seed', 'cookie', 'authorization',
];
const SECRET = new Set(SECRET_KEYS.map((k) => k.toLowerCase()));
export const CENSOR = '[redacted]';
const MAX_DEPTH = 8;

function isPlain(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A copy of `v` with every secret-named field replaced; other values are shared, not copied. */
export function redactSecrets(v: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (depth > MAX_DEPTH || v === null || typeof v !== 'object') return v;
  if (seen.has(v)) return '[circular]';
  if (Array.isArray(v)) {
    seen.add(v);
    return v.map((x) => redactSecrets(x, depth + 1, seen));
  }
  if (!isPlain(v)) return v;
  seen.add(v);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = SECRET.has(k.toLowerCase()) ? CENSOR : redactSecrets(x, depth + 1, seen);
  return out;
}

export const LOG_FORMATS = ['auto', 'json', 'journal', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** pino level number to syslog priority: fatal crit(2), error err(3), warn warning(4), info(6), debug/trace debug(7). */
export function syslogPriority(level: number): number {
  if (level >= 60) return 2;
  if (level >= 50) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return 6;
  return 7;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_AT_START = /^\{"level":(\d+)/;

/** `<N>` + the JSON line: journald's priority prefix. */
export function journalLine(json: string): string {
  const m = LEVEL_AT_START.exec(json);
  return `<${syslogPriority(m ? Number(m[1]) : 30)}>${json}`;
}

function pretty(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

/** One JSON log line as `time LEVEL [module] msg key=value ...` (the line, unchanged, if it is not JSON). */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { level, time, msg, module, pid: _pid, hostname: _host, name: _name, ...rest } = o;
  const when = typeof time === 'number' ? new Date(time).toISOString() : '';
  const lvl = (LEVEL_NAMES[level as number] ?? String(level)).padEnd(5);
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${pretty(v)}`);
  return [when, lvl, module ? `[${String(module)}]` : '', msg ?? '', ...fields].filter((x) => x !== '').join(' ') + '\n';
}

/**
 * Whether stdout is the journal: systemd sets JOURNAL_STREAM=<dev>:<inode> of the stream it
 * connected; a shell that merely inherited the variable has another stdout (systemd.exec(5)).
 */
export function stdoutIsJournal(env: Record<string, string | undefined>, stat: () => { dev: number; ino: number } = () => fstatSync(1)): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m) return false;
  try {
    const s = stat();
    return String(s.dev) === m[1] && String(s.ino) === m[2];
  } catch {
    return false;
  }
}

/** The concrete format for `auto` in this process. */
export function resolveLogFormat(format: LogFormat, env: Record<string, string | undefined> = process.env, isTty = process.stdout.isTTY === true): Exclude<LogFormat, 'auto'> {
  if (format !== 'auto') return format;
  if (stdoutIsJournal(env)) return 'journal';
  return isTty ? 'pretty' : 'json';
}

/** A destination that rewrites each line pino writes (pino writes whole lines, one per call). */
function mapLines(dest: DestinationStream, f: (line: string) => string): DestinationStream {
  return { write: (line: string) => dest.write(f(line)) } as DestinationStream;
}

export interface LoggerOptions {
  level?: string;
  /** Line format (default json; the node passes config log.format, default auto). */
  format?: LogFormat;
  name?: string;
  /** A file path, a file descriptor (default 1, stdout) or a stream (tests capture with one). */
  destination?: string | number | DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const dest = opts.destination;
  const raw = typeof dest === 'object' ? dest : pino.destination({ dest: dest ?? 1, sync: true });
  const format = resolveLogFormat(opts.format ?? 'json');
  const stream = format === 'journal' ? mapLines(raw, journalLine) : format === 'pretty' ? mapLines(raw, prettyLine) : raw;
  return pino(
    {
      level: opts.level ?? process.env.METANODE_LOG_LEVEL ?? 'info',
      name: opts.name ?? 'metanode',
      formatters: { log: (obj) => redactSecrets(obj) as Record<string, unknown> },
    },
    stream,
  );
}

/** A logger that drops everything, for tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
