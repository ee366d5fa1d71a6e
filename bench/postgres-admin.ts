// The PostgreSQL the benchmarks create their throwaway databases on, and one-off queries against it.
import { randomBytes } from 'node:crypto';
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

/** A new, empty database for one benchmark run: its name, a URL to it, and how to drop it. */
export async function createBenchDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `meadow_bench_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_DB_URL);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: async () => void (await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)) };
}
