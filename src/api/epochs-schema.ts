// Validation of the /v1/epochs response (types in ./types.ts): each signed epoch record with the
// public key material a client needs to recompute the vault address and check the key. Clients
// (metanode epochs, verify-epoch) parse node answers with it before trusting any field.
import { z } from 'zod';
import { SignedEpochRecordSchema } from '../epochs/record.js';
import { EpochKeySchema } from '../rounds/regroup/messages.js';

export const EpochEntrySchema = SignedEpochRecordSchema.extend({
  key: EpochKeySchema,
  /** The epoch whose key currently holds the vault, in this node's view. */
  active: z.boolean(),
  vaultAddress: z.string().min(14).max(100),
}).strict();

export const EpochsViewResponseSchema = z.object({ epochs: z.array(EpochEntrySchema).max(100000) }).strict();
