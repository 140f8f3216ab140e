// pino with redaction: secrets must never reach a log line even if a caller logs a whole object.
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT = [
  'secret', '*.secret', 'signingShare', '*.signingShare', 'share', '*.share', 'nonces', '*.nonces',
  'password', '*.password', 'passphrase', '*.passphrase', 'privateKey', '*.privateKey', 'seed', '*.seed',
];

export function createLogger(opts: { level?: string; name?: string; destination?: string | number } = {}): Logger {
  return pino(
    { level: opts.level ?? process.env.METANODE_LOG_LEVEL ?? 'info', name: opts.name ?? 'metanode', redact: { paths: REDACT, censor: '[redacted]' } },
    pino.destination({ dest: opts.destination ?? 2, sync: true }),
  );
}

/** A logger that drops everything, for tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
