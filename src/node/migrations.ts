// Every module's migrations, in the order a fresh node applies them. One database per node.
import type { Migration } from '../store/db.js';
import { depositMigrations } from '../custody/deposits.js';
import { requestMigrations } from '../custody/requests.js';
import { transferMigrations } from '../custody/transfers.js';
import { p2pMigrations } from '../p2p/migrations.js';
import { roundLogMigrations } from '../rounds/roundlog.js';
import { signedSessionMigrations } from '../rounds/signing/sessions.js';
import { epochMigrations } from '../epochs/store.js';
import { rewardMigrations } from '../custody/rewards.js';

export const nodeMigrations: Migration[] = [
  ...p2pMigrations,
  ...requestMigrations,
  ...depositMigrations,
  ...transferMigrations,
  ...roundLogMigrations,
  ...signedSessionMigrations,
  ...epochMigrations,
  ...rewardMigrations,
];
