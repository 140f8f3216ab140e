// Request validation for the HTTP API: query strings and the transfer-request body.
import { z } from 'zod';
import { peerIdFromString } from '@libp2p/peer-id';
import { MetanodeError } from '../util/errors.js';
import type { ListQuery, RoundsQuery, TransferRequestSubmission } from './types.js';

export const MAX_LIMIT = 1000;

const limit = z
  .string()
  .regex(/^\d{1,6}$/, { error: 'must be a whole number' })
  .transform(Number)
  .pipe(z.number().int().min(1, { error: 'must be >= 1' }).max(MAX_LIMIT, { error: `must be <= ${MAX_LIMIT}` }))
  .optional();

export const roundsQuerySchema = z.strictObject({
  limit,
  before: z.string().regex(/^\d{1,15}$/, { error: 'must be a round id (whole number)' }).transform(Number).optional(),
});

export const listQuerySchema = z.strictObject({
  limit,
  state: z.string().regex(/^[a-z][a-z-]{0,31}$/, { error: 'must be a state name like "pending"' }).optional(),
});

/** A peer id in its canonical text form (12D3KooW... / Qm...), as libp2p prints it. */
export function parsePeerId(text: string): string {
  try {
    if (peerIdFromString(text).toString() === text) return text;
  } catch {
    // fall through: the same error for every malformed id
  }
  throw new MetanodeError('INVALID_INPUT', `not a peer id: ${JSON.stringify(text)} (expected e.g. 12D3KooW...)`);
}

export const roundIdSchema = z.string().regex(/^\d{1,15}$/, { error: 'round id must be a whole number' }).transform(Number);

const address = z.string({ error: 'required (a Bitcoin address)' }).min(14, { error: 'too short for a Bitcoin address' }).max(100, { error: 'too long for a Bitcoin address' });

export const submissionSchema = z.strictObject({
  amountSats: z
    .union([z.string(), z.number()], { error: 'required (sats, as a whole number or decimal string)' })
    .transform((v, ctx) => {
      const ok = typeof v === 'number' ? Number.isSafeInteger(v) && v > 0 : /^[1-9]\d{0,15}$/.test(v);
      if (!ok) {
        ctx.addIssue({ code: 'custom', message: `must be a positive whole number of sats, got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return BigInt(v);
    }),
  payoutAddress: address,
  refundAddress: address,
  expiry: z
    .number({ error: 'required (unix seconds)' })
    .int({ error: 'must be whole unix seconds' })
    .positive({ error: 'must be positive unix seconds' })
    .max(1e11, { error: 'must be unix seconds, not milliseconds' }),
});

export type QueryResult<T> = { ok: true; value: T } | { ok: false; message: string };

function issues(e: z.ZodError, prefix: string): string {
  return e.issues
    .map((i) => {
      if (i.code === 'unrecognized_keys') return i.keys.map((k) => `${prefix}${[...i.path, k].join('.')}: unknown field`).join('; ');
      const p = i.path.join('.');
      return `${prefix}${p || '(top level)'}: ${i.message}`;
    })
    .join('; ');
}

export function parseWith<T>(schema: z.ZodType<T>, input: unknown, prefix: string): QueryResult<T> {
  const r = schema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, message: issues(r.error, prefix) };
}

export function toRoundsQuery(q: z.output<typeof roundsQuerySchema>, defaultLimit: number): RoundsQuery {
  return { limit: q.limit ?? defaultLimit, ...(q.before !== undefined ? { before: q.before } : {}) };
}

export function toListQuery(q: z.output<typeof listQuerySchema>, defaultLimit: number): ListQuery {
  return { limit: q.limit ?? defaultLimit, ...(q.state !== undefined ? { state: q.state } : {}) };
}

export type SubmissionBody = z.output<typeof submissionSchema> & TransferRequestSubmission;
