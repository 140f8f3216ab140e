// pino JSON lines on stdout (journald takes them under systemd), with redaction: a secret must
// never reach a log line, even when a caller logs a whole object holding one at any depth.
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

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** A file path, a file descriptor (default 1, stdout) or a stream (tests capture with one). */
  destination?: string | number | DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const dest = opts.destination;
  const stream = typeof dest === 'object' ? dest : pino.destination({ dest: dest ?? 1, sync: true });
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
