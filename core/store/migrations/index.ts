/**
 * The schema's history. Append new migrations at the end; never edit or
 * reorder one that has shipped: databases record which versions they applied.
 */
import init from './001_init.js';
import corpusStats from './002_corpus_stats.js';
import schedules from './003_schedules.js';
import commitFunction from './004_commit_function.js';
import { sealSetKeys } from './005_sealed_set_keys.js';
import sweep from './006_sweep.js';
import resultVersion from './007_result_version.js';
import eco from './008_eco.js';
import parquet from './009_parquet.js';
import modelless from './010_modelless.js';
import fanoutChunks from './011_fanout_chunks.js';
import rateShares from './012_rate_shares.js';
import rateShareProbe from './013_rate_share_probe.js';
import modelBudgetStatement from './014_model_budget_statement.js';
import toolSteps from './015_tool_steps.js';
import budgets from './016_budgets.js';
import judgeSteps from './017_judge_steps.js';
import cachedTokens from './018_cached_tokens.js';
import type { SecretBox } from '../../secrets.js';
import type { Db } from '../db.js';

/** What a migration written in code may need besides the database. */
export interface MigrationContext {
  /** Seals provider keys found in clear. */
  secrets?: SecretBox;
}

export interface Migration {
  version: number;
  name: string;
  /** Schema changes: statements separated by `;`. */
  sql?: string;
  /** A data change that needs code, run after `sql` in the same transaction. */
  run?: (db: Db, context: MigrationContext) => Promise<void>;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'init', sql: init },
  { version: 2, name: 'corpus_stats', sql: corpusStats },
  { version: 3, name: 'schedules', sql: schedules },
  { version: 4, name: 'commit_function', sql: commitFunction },
  { version: 5, name: 'sealed_set_keys', run: sealSetKeys },
  { version: 6, name: 'sweep', sql: sweep },
  { version: 7, name: 'result_version', sql: resultVersion },
  { version: 8, name: 'eco', sql: eco },
  { version: 9, name: 'parquet', sql: parquet },
  { version: 10, name: 'modelless', sql: modelless },
  { version: 11, name: 'fanout_chunks', sql: fanoutChunks },
  { version: 12, name: 'rate_shares', sql: rateShares },
  { version: 13, name: 'rate_share_probe', sql: rateShareProbe },
  { version: 14, name: 'model_budget_statement', sql: modelBudgetStatement },
  { version: 15, name: 'tool_steps', sql: toolSteps },
  { version: 16, name: 'budgets', sql: budgets },
  { version: 17, name: 'judge_steps', sql: judgeSteps },
  { version: 18, name: 'cached_tokens', sql: cachedTokens },
];
