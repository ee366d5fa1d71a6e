// The PostgreSQL the benchmarks create their throwaway databases on, and one-off queries against it.
import pg from 'pg';

export const ADMIN_DB_URL = process.env.MEADOW_BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export async function adminQuery(text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: ADMIN_DB_URL });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}
