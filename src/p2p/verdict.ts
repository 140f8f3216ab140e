// Outcome of validating one message. 'ignore' drops it without blame (stale, duplicate of our
// own view, we are behind); 'reject' drops it and blames the sender (malformed, forged, replayed).
export type Verdict = { result: 'accept' } | { result: 'ignore'; reason: string } | { result: 'reject'; reason: string };

export const ACCEPT: Verdict = { result: 'accept' };
export const ignore = (reason: string): Verdict => ({ result: 'ignore', reason });
export const reject = (reason: string): Verdict => ({ result: 'reject', reason });
