/**
 * Experiment sets kept their `cv` grid as sent, provider keys included (a
 * grid's `common_params.model.api_key`, a judge's key): they are sealed
 * now, as every other stored key is. Idempotent: a sealed grid has no
 * `api_key` left to find.
 */
import { sealApiKeys } from '../../secrets.js';
import type { Db } from '../db.js';
import type { MigrationContext } from './index.js';

export async function sealSetKeys(db: Db, context: MigrationContext): Promise<void> {
  const { rows } = await db.query<{ id: number; cv: unknown }>(
    `SELECT id, cv FROM experiment_set WHERE cv IS NOT NULL AND jsonb_path_exists(cv, '$.**.api_key') ORDER BY id FOR UPDATE`,
  );
  if (!rows.length) return;
  if (!context.secrets) throw new Error(`${rows.length} experiment sets hold provider keys in clear; this migration must run with the key box (EVALAP_SECRET_KEY or EVALAP_KMS_KEY_ID)`);
  for (const row of rows) {
    await db.query('UPDATE experiment_set SET cv = $2::jsonb WHERE id = $1', [row.id, JSON.stringify(await sealApiKeys(row.cv, context.secrets))]);
  }
}
