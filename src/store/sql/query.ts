// Small helpers every part's queries use: the scope filter, pages, chunked IN lists, JSON and NULL columns.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { Page, Scope } from '../store.js';

export type Db = Kysely<Database>;

export const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
export const parse = <T>(v: string | null): T | undefined => (v === null ? undefined : (JSON.parse(v) as T));
export const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

/** Rows or keys per statement: inserts and IN lists stay far below both databases' bound-parameter limits. */
export const IN_LIST_LIMIT = 500;

export function* chunks<T>(items: T[], size: number): Iterable<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** A page of `limit` items from `limit + 1` rows read: the extra row says whether more follow. */
export function page<T>(rows: T[], limit: number, cursor: (row: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, next: cursor(items[items.length - 1]) };
}

/** Every row belongs to one account and region; every query says which (`.$call(scoped(s))`). */
export function scoped(s: Scope) {
  return <QB extends { where: (...args: any[]) => any }>(qb: QB): QB =>
    qb.where('account_id', '=', s.accountId).where('region', '=', s.region) as QB;
}
