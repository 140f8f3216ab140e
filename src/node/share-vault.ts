// The epoch manager's ShareVault over the encrypted keystore: shares only ever touch disk sealed
// with the operator's passphrase, in 0600 files written atomically.
import type { Keystore } from '../keystore/index.js';
import type { ShareVault } from '../epochs/vault.js';
import type { KeyShare } from '../crypto/types.js';

export function keystoreShareVault(ks: Keystore): ShareVault {
  return {
    save: (epoch: number, share: KeyShare) => ks.saveShare(epoch, share),
    load: (epoch: number) => ks.loadShare(epoch),
    destroy: async (epoch: number) => {
      ks.destroyShare(epoch);
    },
    list: async () => ks.listShares(),
    quarantine: async (epoch: number) => ks.quarantineShare(epoch),
    listQuarantined: async () => ks.listQuarantinedShares(),
  };
}
