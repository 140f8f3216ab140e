// Keygen and regroup in the simulation: each member runs the production CeremonyDriver (pure
// transition + attestation checks) over the simulated network, ticked at its phase deadline by
// its own (skewed) clock. The scenario ends when every honest participant's ceremony ended.
import { CeremonyDriver, type CeremonyPorts } from '../rounds/keygen/driver.js';
import { keygenInit, keygenStep, type KeygenState, type KeygenTimeouts } from '../rounds/keygen/keygen.js';
import { KeygenTypes } from '../rounds/keygen/messages.js';
import { regroupInit, regroupStep, type RegroupState, type RegroupTimeouts } from '../rounds/regroup/regroup.js';
import { RegroupTypes } from '../rounds/regroup/messages.js';
import { verifyWithPeerId } from '../epochs/attest.js';
import type { CommitteeMember, EpochKey, KeyShare } from '../crypto/types.js';
import type { Step } from '../rounds/keygen/ceremony.js';
import type { World } from './world.js';
import type { Member } from './members.js';

/** Production driver ticks every 500 ms: a deadline is noticed on the next tick. */
const TICK_MS = 500;
/** Virtual round length: ceremonies start at round x ROUND_MS on each member's clock. */
export const ROUND_MS = 60_000;

interface Run<S> {
  member: Member;
  driver: CeremonyDriver<S> | null;
  nextTick: number;
  /** What arrived before this member's ceremony started (the node keeps it, ceremony-runner.ts). */
  early: Array<{ from: string; type: string; payload: unknown }>;
}

function ports(world: World, m: Member): CeremonyPorts {
  return {
    publish: async (type, payload) => world.publish(m.peerId, type, payload),
    sendDirect: async (to, type, payload) => world.direct(m.peerId, to, type, payload),
    sign: m.sign,
    verify: verifyWithPeerId,
    now: () => world.local(m.peerId),
  };
}

/**
 * Starts each member's ceremony when its own clock reaches `boundary` (local ms) and runs the
 * world until every honest member's ceremony ended or `limitMs` of virtual time passed.
 */
async function drive<S extends { phase: string; deadline: number }>(
  world: World,
  members: Member[],
  boundary: number,
  make: (m: Member) => CeremonyDriver<S>,
  prefix: string,
  honest: (peer: string) => boolean,
  limitMs: number,
  check: (states: ReadonlyMap<string, S>) => void,
): Promise<{ stopped: string; virtualMs: number; states: Map<string, S> }> {
  const start = boundary;
  const runs: Run<S>[] = members.map((member) => ({ member, driver: null, nextTick: -1, early: [] }));
  const ended = (s: S) => s.phase === 'done' || s.phase === 'failed';
  const schedule = (r: Run<S>) => {
    if (!r.driver) return;
    const s = r.driver.current;
    if (ended(s)) return;
    const local = Math.ceil(s.deadline / TICK_MS) * TICK_MS;
    const at = world.globalOf(r.member.peerId, local);
    if (at >= r.nextTick && r.nextTick > world.now) return;
    r.nextTick = at;
    world.at(at, async () => {
      await r.driver!.tick();
      schedule(r);
    });
  };
  for (const r of runs) {
    world.at(world.globalOf(r.member.peerId, boundary), async () => {
      r.driver = make(r.member);
      // The driver applies its first step on its own queue; a tick before any deadline waits for it.
      await r.driver.tick();
      for (const m of r.early.splice(0)) await r.driver.onMessage(m.from, m.type, m.payload);
      schedule(r);
    });
    world.handle(r.member.peerId, async (d) => {
      if (!d.type.startsWith(prefix)) return;
      if (!r.driver) return void r.early.push(d);
      await r.driver.onMessage(d.from, d.type, d.payload);
      schedule(r);
    });
  }
  const live = () => {
    const m = new Map<string, S>();
    for (const r of runs) if (r.driver) m.set(r.member.peerId, r.driver.current);
    return m;
  };
  world.afterStep = () => check(live());
  const stopped = await world.run(() => runs.filter((r) => honest(r.member.peerId)).every((r) => r.driver && ended(r.driver.current)), start + limitMs);
  for (const r of runs) {
    r.driver?.stop();
    world.handle(r.member.peerId, null);
  }
  world.afterStep = () => {};
  world.queue.clear();
  return { stopped, virtualMs: world.now - start, states: live() };
}

export interface KeygenSetup {
  network: 'regtest';
  epoch: number;
  round: number;
  committee: CommitteeMember[];
  threshold: number;
  timeouts: KeygenTimeouts;
}

export async function runKeygen(world: World, members: Member[], k: KeygenSetup, honest: (p: string) => boolean, limitMs: number, check: (s: ReadonlyMap<string, KeygenState>) => void) {
  const boundary = k.round * ROUND_MS;
  const make = (m: Member) => {
    const initial = keygenInit(
      { network: k.network, epoch: k.epoch, round: k.round, startedAt: boundary, previousEpoch: null, self: m.peerId, committee: k.committee, threshold: k.threshold, timeouts: k.timeouts },
      world.local(m.peerId),
    );
    return driverFor(world, m, 'keygen', k.epoch, k.round, keygenStep, initial, KeygenTypes.attest);
  };
  return drive(world, members, boundary, make, 'keygen.', honest, limitMs, check);
}

export interface RegroupSetup {
  network: 'regtest';
  epoch: number;
  round: number;
  oldKey: EpochKey;
  oldShares: Map<string, KeyShare>;
  dealers: CommitteeMember[];
  newCommittee: CommitteeMember[];
  newThreshold: number;
  timeouts: RegroupTimeouts;
}

export async function runRegroup(world: World, members: Member[], g: RegroupSetup, honest: (p: string) => boolean, limitMs: number, check: (s: ReadonlyMap<string, RegroupState>) => void) {
  const boundary = g.round * ROUND_MS;
  const make = (m: Member) => {
    const initial = regroupInit(
      {
        network: g.network, epoch: g.epoch, round: g.round, startedAt: boundary, self: m.peerId, oldKey: g.oldKey, oldShare: g.oldShares.get(m.peerId) ?? null,
        dealers: g.dealers, newCommittee: g.newCommittee, newThreshold: g.newThreshold, timeouts: g.timeouts,
      },
      world.local(m.peerId),
    );
    return driverFor(world, m, 'regroup', g.epoch, g.round, regroupStep, initial, RegroupTypes.attest);
  };
  return drive(world, members, boundary, make, 'regroup.', honest, limitMs, check);
}

function driverFor<S extends { phase: string }>(
  world: World,
  m: Member,
  name: 'keygen' | 'regroup',
  epoch: number,
  round: number,
  step: (s: S, ev: { kind: 'tick'; now: number } | { kind: 'message'; now: number; from: string; type: string; payload: unknown }) => Step<S>,
  initial: Step<S>,
  attestType: string,
): CeremonyDriver<S> {
  return new CeremonyDriver<S>(
    { name, self: m.peerId, epoch, round, step, terminal: (s) => s.phase === 'done' || s.phase === 'failed', failureOf: (s) => (s as unknown as { failure: null }).failure, attestType, tickMs: 0 },
    initial,
    ports(world, m),
  );
}
