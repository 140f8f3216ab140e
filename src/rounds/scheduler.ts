// When each epoch action runs. node-cron fires the configured expressions (UTC); every firing
// goes through one pure decision, decideAction(now, config, running), so the rules are tested
// without a clock: at most one action at a time, regroup before keygen before signing, keygen
// only while now < keygenUntil, regroup only once the key is locked in (while keygen runs every
// few minutes, each keygen already takes the current committee).
import cron, { type ScheduledTask } from 'node-cron';
import { MetanodeError, errorMessage } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import { cronPeriodMs } from './round-clock.js';

export type EpochAction = 'signing' | 'keygen' | 'regroup';

export interface ScheduleConfig {
  /** Cron expressions, 5 fields or 6 with seconds, evaluated in UTC. */
  signing: string;
  keygen: string;
  regroup: string;
  /** ms since the Unix epoch; keygen runs while now < keygenUntil. null = no limit. */
  keygenUntil: number | null;
}

export interface Decision {
  run: EpochAction | null;
  /** Actions due at `now` that do not run, each with the reason (for the log). */
  skipped: { action: EpochAction; reason: string }[];
  /** True when now >= keygenUntil: the key is locked in. */
  lockedIn: boolean;
  /**
   * An epoch action due while a signing round is still finishing: it starts as soon as that
   * round ends, with this instant as its start (every node derives the ceremony's round from it).
   * A signing round runs up to its end boundary, which is exactly when the epoch crons fire
   * (e.g. 00:00:00); skipping would lose the daily regroup to a round ending a few ms late.
   */
  deferred?: EpochAction;
}

interface Matcher {
  second: Set<number>;
  minute: Set<number>;
  hour: Set<number>;
  dom: Set<number>;
  domLast: boolean;
  domAll: boolean;
  month: Set<number>;
  dow: Set<number>;
  dowAll: boolean;
}

const matchers = new Map<string, Matcher>();

function compile(expr: string): Matcher {
  const hit = matchers.get(expr);
  if (hit) return hit;
  if (typeof expr !== 'string' || !cron.validate(expr)) throw new MetanodeError('INVALID_CONFIG', `invalid cron expression ${JSON.stringify(expr)}`);
  const f = cron.parse(expr);
  const nums = (xs: (number | string)[], field: string): number[] =>
    xs.map((x) => {
      if (typeof x === 'number') return x;
      if (/^\d+$/.test(x)) return Number(x);
      throw new MetanodeError('INVALID_CONFIG', `cron ${JSON.stringify(expr)}: ${field} value ${JSON.stringify(x)} is not supported`);
    });
  const domLast = f.dayOfMonth.includes('L');
  const dom = nums(f.dayOfMonth.filter((x) => x !== 'L'), 'day-of-month');
  const dow = nums(f.dayOfWeek, 'day-of-week').map((d) => d % 7);
  const m: Matcher = {
    second: new Set(f.second),
    minute: new Set(f.minute),
    hour: new Set(f.hour),
    dom: new Set(dom),
    domLast,
    domAll: !domLast && dom.length === 31,
    month: new Set(f.month),
    dow: new Set(dow),
    dowAll: new Set(dow).size === 7,
  };
  matchers.set(expr, m);
  return m;
}

/** Throws INVALID_CONFIG naming the field with a bad expression. */
export function validateSchedule(cfg: ScheduleConfig): void {
  for (const k of ['signing', 'keygen', 'regroup'] as const) {
    try {
      compile(cfg[k]);
    } catch (e) {
      throw new MetanodeError('INVALID_CONFIG', `schedule.${k}: ${errorMessage(e)}`);
    }
  }
  if (cfg.keygenUntil !== null && !Number.isFinite(cfg.keygenUntil)) throw new MetanodeError('INVALID_CONFIG', 'schedule.keygenUntil must be a time');
}

/** Whether a cron expression fires at this instant (second resolution, UTC). */
export function cronMatches(expr: string, at: Date | number): boolean {
  const m = compile(expr);
  const d = new Date(typeof at === 'number' ? at : at.getTime());
  if (!m.second.has(d.getUTCSeconds()) || !m.minute.has(d.getUTCMinutes()) || !m.hour.has(d.getUTCHours()) || !m.month.has(d.getUTCMonth() + 1)) return false;
  const day = d.getUTCDate();
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  const domOk = m.dom.has(day) || (m.domLast && day === last);
  const dowOk = m.dow.has(d.getUTCDay());
  // Classic cron: when both day fields are restricted, either one matching is enough.
  if (!m.domAll && !m.dowAll) return domOk || dowOk;
  return domOk && dowOk;
}

const PRIORITY: EpochAction[] = ['regroup', 'keygen', 'signing'];

/** The pure scheduling rule. `running` is the epoch action in progress, if any. */
export function decideAction(now: Date | number, cfg: ScheduleConfig, running: EpochAction | null): Decision {
  const t = typeof now === 'number' ? now : now.getTime();
  const lockedIn = cfg.keygenUntil !== null && t >= cfg.keygenUntil;
  const skipped: Decision['skipped'] = [];
  const candidates: EpochAction[] = [];
  for (const a of PRIORITY) {
    if (!cronMatches(cfg[a], t)) continue;
    if (a === 'keygen' && lockedIn) skipped.push({ action: a, reason: 'key locked in: now >= keygen_until' });
    else if (a === 'regroup' && !lockedIn) skipped.push({ action: a, reason: 'keygen mode: each keygen already takes the current committee' });
    else if (a !== 'signing' && earlierSlotInRound(cfg[a], cfg.signing, t)) skipped.push({ action: a, reason: 'one attempt per signing round: an earlier slot of this round had it' });
    else candidates.push(a);
  }
  if (running) {
    const [first] = candidates;
    const deferred = running === 'signing' && first !== undefined && first !== 'signing' ? first : undefined;
    for (const a of candidates) if (a !== deferred) skipped.push({ action: a, reason: deferred ? `replaced by ${deferred}` : `${running} still running` });
    return deferred ? { run: null, skipped, lockedIn, deferred } : { run: null, skipped, lockedIn };
  }
  const [run, ...rest] = candidates;
  for (const a of rest) skipped.push({ action: a, reason: `replaced by ${run}` });
  return { run: run ?? null, skipped, lockedIn };
}

const periods = new Map<string, number | null>();

/**
 * Whether `expr` also fired earlier in the signing round that contains t. A ceremony attempt is
 * named by its epoch and signing round (every message carries both, and the record's attempt
 * commits to the round's start), so two slots in one round would be two attempts with one name:
 * a late member's timeout abort from the first would end everyone's second. With a keygen cron
 * firing more often than rounds (tests: every 6 s against 10-second rounds) only the first slot
 * of each round runs; every node skips the same slots because the rule reads only the clock.
 */
function earlierSlotInRound(expr: string, signing: string, t: number): boolean {
  let period = periods.get(signing);
  if (period === undefined) {
    try {
      period = cronPeriodMs(signing);
    } catch {
      period = null; // the node refuses such a signing cron at start; nothing to number rounds by
    }
    periods.set(signing, period);
  }
  if (period === null) return false;
  const second = Math.floor(t / 1000) * 1000;
  for (let s = Math.floor(t / period) * period; s < second; s += 1000) if (cronMatches(expr, s)) return true;
  return false;
}

export type ActionHandler = (at: Date) => Promise<void>;

export interface SchedulerOptions {
  log?: Logger;
  /** Called for every skipped action, e.g. to write the round log. */
  onSkip?: (action: EpochAction, reason: string, at: Date) => void;
  /**
   * Called on every tick that finds now >= keygenUntil (lock the key in); must be idempotent.
   * Not just once: a key this node adopts or learns after that instant (a newcomer syncing the
   * federation's epoch, a keygen finishing just after the deadline) must be locked too.
   */
  onLockIn?: (at: Date) => void | Promise<void>;
}

/**
 * Runs at most one epoch action at a time. tick(at) is what every cron firing calls; tests call
 * it directly with chosen instants. Two expressions firing in the same second are one tick.
 */
export class EpochScheduler {
  private current: { action: EpochAction; done: Promise<void> } | null = null;
  private deferred: { action: EpochAction; at: Date } | null = null;
  private lastSecond = -1;
  private tasks: ScheduledTask[] = [];
  private lockingIn = false;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly cfg: ScheduleConfig, private readonly handlers: Record<EpochAction, ActionHandler>, private readonly opts: SchedulerOptions = {}) {
    validateSchedule(cfg);
    this.log = opts.log ?? silentLogger;
  }

  get running(): EpochAction | null {
    return this.current?.action ?? null;
  }

  tick(at: Date): Decision {
    const second = Math.floor(at.getTime() / 1000);
    if (second === this.lastSecond) return { run: null, skipped: [], lockedIn: this.cfg.keygenUntil !== null && at.getTime() >= this.cfg.keygenUntil };
    this.lastSecond = second;
    const d = decideAction(at, this.cfg, this.running);
    if (d.lockedIn && !this.lockingIn && this.opts.onLockIn) {
      this.lockingIn = true;
      Promise.resolve()
        .then(() => this.opts.onLockIn!(at))
        .catch((e) => this.log.error({ err: errorMessage(e) }, 'lock-in failed'))
        .finally(() => (this.lockingIn = false));
    }
    for (const s of d.skipped) {
      this.log.info({ action: s.action, reason: s.reason, at: at.toISOString() }, 'scheduled action skipped');
      this.opts.onSkip?.(s.action, s.reason, at);
    }
    if (d.run) this.start(d.run, at);
    else if (d.deferred) {
      this.log.info({ action: d.deferred, at: at.toISOString() }, 'scheduled action waits for the signing round to end');
      this.deferred = { action: d.deferred, at };
    }
    return d;
  }

  private start(action: EpochAction, at: Date): void {
    const done = (async () => {
      try {
        await this.handlers[action](at);
      } catch (e) {
        this.log.error({ action, err: errorMessage(e) }, 'scheduled action failed');
      } finally {
        this.current = null;
        const next = this.deferred;
        this.deferred = null;
        if (next && !this.stopped) this.start(next.action, next.at);
      }
    })();
    this.current = { action, done };
  }

  /** Resolves when no action is running. */
  async idle(): Promise<void> {
    while (this.current) await this.current.done;
  }

  /** Starts one node-cron task per distinct expression, in UTC. */
  startCron(): void {
    if (this.tasks.length) return;
    for (const expr of new Set([this.cfg.signing, this.cfg.keygen, this.cfg.regroup])) {
      this.tasks.push(cron.schedule(expr, (ctx) => void this.tick(ctx.date), { timezone: 'UTC', name: `metanode:${expr}` }));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.deferred = null;
    const tasks = this.tasks;
    this.tasks = [];
    for (const t of tasks) {
      await t.stop();
      await t.destroy();
    }
    await this.idle();
  }
}

/** From the config file's `schedule` section (keygenUntil as an ISO date string). */
export function scheduleFromConfig(s: { signing: string; keygen: string; regroup: string; keygenUntil?: string; timezone?: string }): ScheduleConfig {
  if (s.timezone !== undefined && s.timezone !== 'UTC' && s.timezone !== 'Etc/UTC')
    throw new MetanodeError('INVALID_CONFIG', `schedule.timezone: every node must use the same clock; only UTC is supported, got ${JSON.stringify(s.timezone)}`);
  const until = s.keygenUntil === undefined ? null : Date.parse(s.keygenUntil);
  if (until !== null && Number.isNaN(until)) throw new MetanodeError('INVALID_CONFIG', `schedule.keygenUntil: invalid date ${JSON.stringify(s.keygenUntil)}`);
  const cfg = { signing: s.signing, keygen: s.keygen, regroup: s.regroup, keygenUntil: until };
  validateSchedule(cfg);
  return cfg;
}
