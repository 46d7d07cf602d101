import { migrate } from '../../core/store/migrate.js';
import { MIGRATIONS } from '../../core/store/migrations/index.js';
import { createPool } from '../../core/store/pool.js';
import { createSecretBox, openApiKeys } from '../../core/secrets.js';
import { runMigrations } from '../../functions/migrate/handler.js';
import { startDataApiServer, type DataApiServer } from '../../local/data-api.js';
import type { Database } from '../../core/store/db.js';
import { localDataApiDatabase } from '../../local/stack.js';
import { emptyDatabase } from '../support/api.js';

describe('migrate', () => {
  it('applies every migration exactly once even when several processes start together', async () => {
    const url = await emptyDatabase();
    const pools = [createPool(url, 1), createPool(url, 1), createPool(url, 1)];
    try {
      const results = await Promise.all(pools.map((p) => migrate(p)));
      expect(results.flat().sort((a, b) => a - b)).toEqual(MIGRATIONS.map((m) => m.version));
      const { rows } = await pools[0].query('SELECT version FROM schema_migration ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await migrate(pools[0])).toEqual([]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('applies only the migrations a database has not seen', async () => {
    const url = await emptyDatabase();
    const pool = createPool(url, 1);
    try {
      expect(await migrate(pool, {}, MIGRATIONS.slice(0, 1))).toEqual([1]);
      expect(await migrate(pool)).toEqual(MIGRATIONS.slice(1).map((m) => m.version));
      const { rows } = await pool.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'result' AND column_name = 'corpus_stats'`);
      expect(rows).toHaveLength(1);
    } finally {
      await pool.end();
    }
  });
});

describe('migrations through the RDS Data API (the deploy-time migration Lambda)', () => {
  /** A new, empty database behind its own local Data API server. */
  async function withDataApi(fn: (db: Database, server: DataApiServer) => Promise<void>) {
    const url = await emptyDatabase();
    const server = await startDataApiServer({ databaseUrl: url, host: '127.0.0.1', port: 0 });
    const db = localDataApiDatabase(server.endpoint, url);
    try {
      await fn(db, server);
    } finally {
      await db.close();
      await server.close();
    }
  }

  it('applies every migration statement by statement, then nothing the second time', () =>
    withDataApi(async (db) => {
      expect(await migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await migrate(db)).toEqual([]);
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM pg_proc WHERE proname IN ('evalap_commit_outcomes', 'evalap_advance')`);
      expect(rows[0].n).toBe(2);
    }));

  it('waits while the database resumes from pause, then migrates', () =>
    withDataApi(async (db, server) => {
      server.resumeDelay(3_600_000);
      const waits: number[] = [];
      const result = await runMigrations({
        db,
        sleep: async (ms) => {
          waits.push(ms);
          if (waits.length === 2) server.resumeDelay(0);
        },
      });
      expect(result.applied).toEqual(MIGRATIONS.map((m) => m.version));
      expect(waits).toEqual([15_000, 15_000]);
    }));

  it('fails (so the deploy fails) when the database stays paused past its budget', () =>
    withDataApi(async (db, server) => {
      let clock = 0;
      server.resumeDelay(3_600_000);
      await expect(runMigrations({ db, now: () => clock, sleep: async (ms) => void (clock += ms) })).rejects.toThrow(/resuming/);
      expect(clock).toBeGreaterThanOrEqual(4 * 60_000 - 15_000);
    }));
});

describe('migration 5: provider keys stored in clear in an experiment set\'s grid', () => {
  const box = createSecretBox(Buffer.alloc(32, 7));

  async function databaseWithClearKeys() {
    const url = await emptyDatabase();
    const pool = createPool(url, 1);
    await migrate(pool, {}, MIGRATIONS.filter((m) => m.version < 5));
    const cv = { common_params: { model: { name: 'm', base_url: 'http://x/v1', api_key: 'sk-clear-1111111111' }, judge_model: { name: 'j', api_key: 'sk-clear-2222222222' } }, grid_params: { model: [{ api_key: 'sk-clear-3333333333' }] } };
    await pool.query(`INSERT INTO experiment_set (name, readme, cv) VALUES ('old', '', $1::jsonb), ('no-keys', '', '{"common_params": {}}'::jsonb)`, [JSON.stringify(cv)]);
    return pool;
  }

  it('seals every one of them, and they still open to the same keys', async () => {
    const pool = await databaseWithClearKeys();
    try {
      expect(await migrate(pool, { secrets: box }, MIGRATIONS.filter((m) => m.version <= 5))).toEqual([5]);
      const { rows } = await pool.query(`SELECT name, cv FROM experiment_set ORDER BY name`);
      const sealed = rows.find((r) => r.name === 'old').cv;
      expect(JSON.stringify(sealed)).not.toMatch(/sk-clear/);
      expect(await openApiKeys(sealed, box)).toEqual({ common_params: { model: { name: 'm', base_url: 'http://x/v1', api_key: 'sk-clear-1111111111' }, judge_model: { name: 'j', api_key: 'sk-clear-2222222222' } }, grid_params: { model: [{ api_key: 'sk-clear-3333333333' }] } });
      expect(rows.find((r) => r.name === 'no-keys').cv).toEqual({ common_params: {} });
    } finally {
      await pool.end();
    }
  });

  it('refuses to run without the key box, naming what is missing, and changes nothing', async () => {
    const pool = await databaseWithClearKeys();
    try {
      await expect(migrate(pool)).rejects.toThrow(/1 experiment sets hold provider keys in clear.*EVALAP_SECRET_KEY or EVALAP_KMS_KEY_ID/);
      const { rows } = await pool.query(`SELECT max(version)::int AS v FROM schema_migration`);
      expect(rows[0].v).toBe(4);
    } finally {
      await pool.end();
    }
  });
});

describe('migration 18: cached prompt tokens', () => {
  it('starts the cached totals at 0 where the totals are known, leaves them unknown where they are not, and counts new experiments from 0', async () => {
    const url = await emptyDatabase();
    const pool = createPool(url, 1);
    try {
      await migrate(pool, {}, MIGRATIONS.filter((m) => m.version < 18));
      const { rows: [dataset] } = await pool.query(`INSERT INTO dataset (name) VALUES ('d') RETURNING id`);
      await pool.query(`INSERT INTO experiment (name, dataset_id, model, num_total) VALUES ('counted', $1, '{}', 1), ('uncounted', $1, '{}', 1)`, [dataset.id]);
      // As migration 016 left the experiments that existed before it.
      await pool.query(`UPDATE experiment SET used_prompt_tokens = NULL, used_completion_tokens = NULL, used_judge_prompt_tokens = NULL, used_judge_completion_tokens = NULL WHERE name = 'uncounted'`);
      expect(await migrate(pool, {}, MIGRATIONS.filter((m) => m.version <= 18))).toEqual([18]);
      await pool.query(`INSERT INTO experiment (name, dataset_id, model, num_total) VALUES ('new', $1, '{}', 1)`, [dataset.id]);
      const { rows } = await pool.query(`SELECT name, used_cached_prompt_tokens AS answers, used_judge_cached_prompt_tokens AS judge FROM experiment ORDER BY id`);
      expect(rows).toEqual([
        { name: 'counted', answers: 0, judge: 0 },
        { name: 'uncounted', answers: null, judge: null },
        { name: 'new', answers: 0, judge: 0 },
      ]);
    } finally {
      await pool.end();
    }
  });
});
