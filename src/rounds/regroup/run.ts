// Runs one regroup attempt on a node and switches only on success: the new share and record
// are adopted together and the old epoch's share destroyed (EpochManager.adopt). On failure the
// culprits are recorded and the old shares stay in use.
import type { CommitteeMember } from '../../crypto/types.js';
import type { Network } from '../../chain/types.js';
import type { EpochManager } from '../../epochs/manager.js';
import { MetanodeError, errorMessage } from '../../util/errors.js';
import { CeremonyDriver, type CeremonyPorts } from '../keygen/driver.js';
import type { CeremonyFailure } from '../keygen/ceremony.js';
import type { CeremonyOutcome } from '../keygen/run.js';
import { regroupInit, regroupStep, DEFAULT_REGROUP_TIMEOUTS, type RegroupState, type RegroupTimeouts } from './regroup.js';
import { RegroupTypes } from './messages.js';

export interface RegroupRunArgs {
  ports: CeremonyPorts;
  manager: EpochManager;
  network: Network;
  round: number;
  /** Start of the attempt's slot in ms, the same on every participant (round x round length). */
  startedAt: number;
  /** From computeRegroupCommittee / selectDealers on the shared inputs. */
  dealers: CommitteeMember[];
  newCommittee: CommitteeMember[];
  newThreshold: number;
  /** Reward address per new member (from its verified stake), written into the record. */
  rewardAddresses?: Record<string, string>;
  timeouts?: Partial<RegroupTimeouts>;
  tickMs?: number;
}

export async function startRegroup(a: RegroupRunArgs): Promise<{ driver: CeremonyDriver<RegroupState>; epoch: number; outcome: Promise<CeremonyOutcome> }> {
  const cur = await a.manager.currentKeyAndShare();
  if (!cur) throw new MetanodeError('INVALID_INPUT', 'no key in force: nothing to regroup');
  const oldEpoch = cur.record.epoch;
  const locked = a.manager.isLocked();
  const epoch = a.manager.store.maxEpoch() + 1;
  const self = a.manager.selfPeerId;
  const initial = regroupInit(
    { network: a.network, epoch, round: a.round, startedAt: a.startedAt, self, oldKey: cur.key, oldShare: cur.share, dealers: a.dealers, newCommittee: a.newCommittee, newThreshold: a.newThreshold, ...(a.rewardAddresses ? { rewardAddresses: a.rewardAddresses } : {}), timeouts: { ...DEFAULT_REGROUP_TIMEOUTS, ...a.timeouts } },
    a.ports.now(),
  );
  const driver = new CeremonyDriver<RegroupState>(
    { name: 'regroup', self, epoch, round: a.round, step: regroupStep, terminal: (s) => s.phase === 'done' || s.phase === 'failed', failureOf: (s) => s.failure, attestType: RegroupTypes.attest, tickMs: a.tickMs },
    initial,
    a.ports,
  );
  const outcome = driver.done.then(async (s): Promise<CeremonyOutcome> => {
    const record = (f: CeremonyFailure): CeremonyOutcome => {
      a.manager.recordFailure({ kind: 'regroup', epoch, code: f.code, message: f.message, culprits: f.culprits, detail: { ...f.detail, round: a.round } });
      return { ok: false, epoch, failure: f };
    };
    if (s.phase !== 'done' || !s.result) {
      // Signed but not every attestation arrived: keep the new share for the record epoch sync
      // may bring from a member that did complete (see EpochManager.holdUnattested).
      if (s.pending && s.newKey && s.newShare && s.role.member) {
        const attached = await a.manager.holdUnattested({ record: s.pending.record, key: s.newKey, share: s.newShare }).catch(() => false);
        if (attached) return { ok: true, record: s.pending.record };
      }
      return record(s.failure ?? { code: 'ABORTED', message: 'regroup ended without a result', culprits: [], detail: {} });
    }
    try {
      await a.manager.adopt({ record: s.result.record, signatures: s.result.signatures, key: s.result.key, share: s.result.share, retire: [oldEpoch], locked });
      return { ok: true, record: s.result.record };
    } catch (e) {
      return record({ code: 'KEYSTORE', message: `adopting regroup epoch ${epoch} failed: ${errorMessage(e)}`, culprits: [], detail: { phase: 'adopt' } });
    }
  });
  return { driver, epoch, outcome };
}
