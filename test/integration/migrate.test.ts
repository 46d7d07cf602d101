import { migrate } from '../../core/store/migrate.js';
import { MIGRATIONS } from '../../core/store/migrations/index.js';
import { createPool } from '../../core/store/pool.js';
import { emptyDatabase } from '../support/api.js';

describe('migrate', () => {
  it('applies every migration exactly once even when several processes start together', async () => {
    const url = await emptyDatabase();
    const pools = [createPool(url, 1), createPool(url, 1), createPool(url, 1)];
    try {
      const results = await Promise.all(pools.map((p) => migrate(p)));
      expect(results.flat().sort()).toEqual(MIGRATIONS.map((m) => m.version));
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
      expect(await migrate(pool, MIGRATIONS.slice(0, 1))).toEqual([1]);
      expect(await migrate(pool)).toEqual(MIGRATIONS.slice(1).map((m) => m.version));
      const { rows } = await pool.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'result' AND column_name = 'corpus_stats'`);
      expect(rows).toHaveLength(1);
    } finally {
      await pool.end();
    }
  });
});
