// Throwaway PostgreSQL databases for tests: one per server, dropped afterwards, so no run depends on another.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const POSTGRES_URL = process.env.MEADOW_TEST_DATABASE_URL || undefined;

/** The stores every suite runs against: SQLite always, PostgreSQL when MEADOW_TEST_DATABASE_URL is set. */
export const STORE_KINDS: ('sqlite' | 'postgres')[] = POSTGRES_URL ? ['sqlite', 'postgres'] : ['sqlite'];

export async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!POSTGRES_URL) throw new Error('MEADOW_TEST_DATABASE_URL is not set');
  const name = `meadow_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      // pg's Pool.end() resolves before its connections have closed; forcing the drop at once would terminate
      // them mid-close, and the closing client then raises an uncaught 'terminating connection' error in the test.
      // So give the store's connections a moment to leave, and force only what is still there after that.
      for (let i = 0; i < 100; i++) {
        const { rows } = await c.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
        if (rows[0].n === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
