// One fetch wrapper for the chain adapters: every request is bounded by AbortSignal.timeout and
// every failure to get an answer becomes CHAIN_UNAVAILABLE (which the retry wrapper may retry).
import { MetanodeError } from '../util/errors.js';

/** Largest body an adapter reads; a larger answer is treated as malformed, not buffered. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface HttpReply {
  status: number;
  text: string;
}

export async function httpRequest(url: string, init: RequestInit & { timeoutMs: number; what: string }): Promise<HttpReply> {
  const { timeoutMs, what, ...rest } = init;
  let res: Response;
  try {
    res = await fetch(url, { ...rest, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const err = e as Error;
    const timedOut = err.name === 'TimeoutError' || err.name === 'AbortError';
    throw new MetanodeError('CHAIN_UNAVAILABLE', `${what}: ${timedOut ? `no answer within ${timeoutMs} ms` : `unreachable (${causeOf(err)})`}`, [], {
      timeout: timedOut,
    });
  }
  let text: string;
  try {
    const len = Number(res.headers.get('content-length') ?? '0');
    if (len > MAX_RESPONSE_BYTES) throw new Error('too large');
    text = await res.text();
  } catch (e) {
    const err = e as Error;
    if (err.message === 'too large') throw new MetanodeError('CHAIN_BAD_RESPONSE', `${what}: response larger than ${MAX_RESPONSE_BYTES} bytes`);
    const timedOut = err.name === 'TimeoutError' || err.name === 'AbortError';
    throw new MetanodeError('CHAIN_UNAVAILABLE', `${what}: ${timedOut ? `body not received within ${timeoutMs} ms` : `connection failed (${causeOf(err)})`}`, [], {
      timeout: timedOut,
    });
  }
  if (text.length > MAX_RESPONSE_BYTES) throw new MetanodeError('CHAIN_BAD_RESPONSE', `${what}: response larger than ${MAX_RESPONSE_BYTES} bytes`);
  return { status: res.status, text };
}

function causeOf(e: Error): string {
  const c = (e as { cause?: { code?: string; message?: string } }).cause;
  return c?.code ?? c?.message ?? e.message;
}
