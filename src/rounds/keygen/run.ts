// Runs one keygen attempt end to end on a node: pure ceremony + driver + adoption through the
// EpochManager (crash-safe: share first, then one transaction). A failure is recorded with its
// culprits and leaves the previous key in force.
import type { CommitteeMember } from '../../crypto/types.js';
import type { Network } from '../../chain/types.js';
import type { EpochManager } from '../../epochs/manager.js';
import type { EpochRecord } from '../../epochs/record.js';
import { errorMessage } from '../../util/errors.js';
import { CeremonyDriver, type CeremonyPorts } from './driver.js';
import { keygenInit, keygenStep, DEFAULT_KEYGEN_TIMEOUTS, type KeygenState, type KeygenTimeouts } from './keygen.js';
import { KeygenTypes } from './messages.js';
import type { CeremonyFailure } from './ceremony.js';

export interface KeygenRunArgs {
  ports: CeremonyPorts;
  manager: EpochManager;
  network: Network;
  /** Envelope round of the attempt (e.g. unix seconds of the 5-minute boundary). */
  round: number;
  /** Start of the attempt's slot in ms, the same on every member (round x round length). */
  startedAt: number;
  committee: CommitteeMember[];
  threshold: number;
  /** Reward address per member (from its verified stake), written into the record. */
  rewardAddresses?: Record<string, string>;
  timeouts?: Partial<KeygenTimeouts>;
  /** Driver tick period; 0 = no internal timer (the caller calls driver.tick()). */
  tickMs?: number;
}

export type CeremonyOutcome = { ok: true; record: EpochRecord } | { ok: false; epoch: number; failure: CeremonyFailure };

export function startKeygen(a: KeygenRunArgs): { driver: CeremonyDriver<KeygenState>; epoch: number; outcome: Promise<CeremonyOutcome> } {
  const cur = a.manager.current();
  const epoch = a.manager.store.maxEpoch() + 1;
  const self = a.manager.selfPeerId;
  const initial = keygenInit(
    { network: a.network, epoch, round: a.round, startedAt: a.startedAt, previousEpoch: cur ? cur.record.epoch : null, self, committee: a.committee, threshold: a.threshold, ...(a.rewardAddresses ? { rewardAddresses: a.rewardAddresses } : {}), timeouts: { ...DEFAULT_KEYGEN_TIMEOUTS, ...a.timeouts } },
    a.ports.now(),
  );
  const driver = new CeremonyDriver<KeygenState>(
    {
      name: 'keygen',
      self,
      epoch,
      round: a.round,
      step: keygenStep,
      terminal: (s) => s.phase === 'done' || s.phase === 'failed',
      failureOf: (s) => s.failure,
      attestType: KeygenTypes.attest,
      tickMs: a.tickMs,
    },
    initial,
    a.ports,
  );
  const outcome = driver.done.then(async (s): Promise<CeremonyOutcome> => {
    if (s.phase === 'done' && s.result) {
      const { record, signatures, key, share } = s.result;
      try {
        await a.manager.adopt({ record, signatures, key, share, retire: [] });
        return { ok: true, record };
      } catch (e) {
        const failure: CeremonyFailure = { code: 'KEYSTORE', message: `adopting epoch ${epoch} failed: ${errorMessage(e)}`, culprits: [], detail: { phase: 'adopt' } };
        a.manager.recordFailure({ kind: 'keygen', epoch, code: failure.code, message: failure.message, culprits: [], detail: { ...failure.detail, round: a.round } });
        return { ok: false, epoch, failure };
      }
    }
    const failure = s.failure ?? { code: 'ABORTED', message: 'keygen ended without a result', culprits: [], detail: {} };
    // Past the point where this node signed the record, another member may have collected every
    // attestation and adopted: keep the share for the record epoch sync may bring (manager.ts).
    if (s.pending) {
      const attached = await a.manager.holdUnattested({ record: s.pending.record, key: s.pending.key, share: s.pending.share }).catch(() => false);
      if (attached) return { ok: true, record: s.pending.record };
    }
    // The attempt (round) goes with the failure: every attempt before the first success has the same epoch number.
    a.manager.recordFailure({ kind: 'keygen', epoch, code: failure.code, message: failure.message, culprits: failure.culprits, detail: { ...failure.detail, round: a.round } });
    return { ok: false, epoch, failure };
  });
  return { driver, epoch, outcome };
}
