/**
 * The schema's history. Append new migrations at the end; never edit or
 * reorder one that has shipped: databases record which versions they applied.
 */
import init from './001_init.js';
import corpusStats from './002_corpus_stats.js';
import schedules from './003_schedules.js';
import commitFunction from './004_commit_function.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'init', sql: init },
  { version: 2, name: 'corpus_stats', sql: corpusStats },
  { version: 3, name: 'schedules', sql: schedules },
  { version: 4, name: 'commit_function', sql: commitFunction },
];
