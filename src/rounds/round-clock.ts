// Rounds are numbered by wall-clock boundary: round = floor(now / roundMs). The boundary is the
// period of the signing cron expression, so `schedule.signing` alone decides both when rounds
// start and how they are numbered, and every node with the same config numbers them alike. That
// only holds when every firing lies on a boundary: '*/8 * * * * *' fires at :56 and again at :00,
// four seconds later, mid-round, so such expressions are refused.
import { cronMatches } from './scheduler.js';
import { MetanodeError } from '../util/errors.js';

const DAY_S = 86_400;

/**
 * Period in ms of a signing cron expression whose firings are exactly the multiples of that
 * period (scanned over two days at 1 s steps); INVALID_CONFIG naming the expression otherwise.
 */
export function cronPeriodMs(expr: string): number {
  const base = Date.UTC(2026, 0, 1, 0, 0, 0);
  const fires: number[] = [];
  for (let s = 0; s < DAY_S * 2; s++) if (cronMatches(expr, base + s * 1000)) fires.push(s);
  if (fires.length < 2) throw new MetanodeError('INVALID_CONFIG', `schedule.signing "${expr}" does not fire at a regular interval within a day`);
  const period = fires[1]! - fires[0]!;
  for (let i = 1; i < fires.length; i++) {
    const gap = fires[i]! - fires[i - 1]!;
    if (gap !== period)
      throw new MetanodeError(
        'INVALID_CONFIG',
        `schedule.signing "${expr}" fires at uneven intervals (${period} s, then ${gap} s after ${new Date((base / 1000 + fires[i - 1]!) * 1000).toISOString().slice(11, 19)} UTC); ` +
          'rounds are numbered by a fixed period, so use an interval that divides a minute (or an hour, or a day) evenly',
      );
  }
  if (DAY_S % period !== 0 || fires[0]! % period !== 0)
    throw new MetanodeError('INVALID_CONFIG', `schedule.signing "${expr}" fires every ${period} s but not on multiples of ${period} s since midnight UTC`);
  return period * 1000;
}
