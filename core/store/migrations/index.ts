/**
 * The schema's history. Append new migrations at the end; never edit or
 * reorder one that has shipped: databases record which versions they applied.
 */
import init from './001_init.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [{ version: 1, name: 'init', sql: init }];
