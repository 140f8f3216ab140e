// Rounds are numbered by wall-clock boundary: round = floor(now / roundMs). The boundary is the
// period of the signing cron expression, so `schedule.signing` alone decides both when rounds
// start and how they are numbered, and every node with the same config numbers them alike.
import { cronMatches } from '../rounds/scheduler.js';
import { MetanodeError } from '../util/errors.js';

/** Period of a cron expression that fires at a fixed interval, in ms (scanned at 1 s steps). */
export function cronPeriodMs(expr: string): number {
  const base = Date.UTC(2026, 0, 1, 0, 0, 0);
  let first: number | null = null;
  // A day of seconds covers any expression the schedule accepts for signing rounds.
  for (let s = 0; s <= 86_400 * 2; s++) {
    const at = base + s * 1000;
    if (!cronMatches(expr, at)) continue;
    if (first === null) first = at;
    else return at - first;
  }
  throw new MetanodeError('INVALID_CONFIG', `schedule.signing "${expr}" does not fire at a regular interval within a day`);
}
