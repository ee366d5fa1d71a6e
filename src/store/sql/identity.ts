// SqlStore's queries: meadow's certificate authority, device certificates and their attachments to things.
import { sql } from 'kysely';
import type { Certificate, Page, PageRequest, Scope, StoredCertificateAuthority, ThingPrincipal } from '../store.js';
import type { SqlBaseClass } from './base.js';
import { page, scoped } from './query.js';
import { certificateRow, toCertificate, toThingPrincipal } from './rows.js';

export function withIdentity<B extends SqlBaseClass>(Base: B) {
  return class extends Base {
    async getCertificateAuthority(): Promise<StoredCertificateAuthority | undefined> {
      const r = await this.db.selectFrom('certificate_authority').selectAll().where('name', '=', 'default').executeTakeFirst();
      return r && { certificatePem: r.certificate_pem, privateKeyPem: r.private_key_pem, createdAt: Number(r.created_at) };
    }

    async insertCertificateAuthorityIfAbsent(ca: StoredCertificateAuthority): Promise<void> {
      await this.db
        .insertInto('certificate_authority')
        .values({ name: 'default', certificate_pem: ca.certificatePem, private_key_pem: ca.privateKeyPem, created_at: ca.createdAt })
        .onConflict((oc) => oc.doNothing())
        .execute();
    }

    async insertCertificate(s: Scope, c: Certificate): Promise<void> {
      await this.db.insertInto('certificates').values(certificateRow(s, c)).execute();
    }

    async getCertificate(s: Scope, certificateId: string): Promise<Certificate | undefined> {
      const r = await this.db
        .selectFrom('certificates')
        .selectAll()
        .$call(scoped(s))
        .where('certificate_id', '=', certificateId)
        .executeTakeFirst();
      return r && toCertificate(r);
    }

    async lockCertificate(s: Scope, certificateId: string): Promise<Certificate | undefined> {
      // As lockTarget: a write that changes nothing locks the row (PostgreSQL) or the database (SQLite).
      await this.db
        .updateTable('certificates')
        .set({ status: sql`status` })
        .$call(scoped(s))
        .where('certificate_id', '=', certificateId)
        .execute();
      return this.getCertificate(s, certificateId);
    }

    async updateCertificate(s: Scope, c: Certificate): Promise<void> {
      const { account_id, region, certificate_id, ...change } = certificateRow(s, c);
      await this.db
        .updateTable('certificates')
        .set(change)
        .where('account_id', '=', account_id)
        .where('region', '=', region)
        .where('certificate_id', '=', certificate_id)
        .execute();
    }

    async deleteCertificate(s: Scope, certificateId: string): Promise<void> {
      await this.db
        .deleteFrom('certificates')
        .$call(scoped(s))
        .where('certificate_id', '=', certificateId)
        .execute();
    }

    async listCertificates(s: Scope, order: 'ascending' | 'descending', p: PageRequest): Promise<Page<Certificate>> {
      const dir = order === 'ascending' ? 'asc' : 'desc';
      let q = this.db
        .selectFrom('certificates')
        .selectAll()
        .$call(scoped(s))
        .orderBy('created_at', dir)
        .orderBy('certificate_id', dir)
        .limit(p.limit + 1);
      if (p.after !== undefined) {
        // The cursor is `createdAt:id` of the last certificate returned.
        const [at, id] = p.after.split(':');
        const cmp = order === 'ascending' ? '>' : '<';
        q = q.where((eb) => eb.or([eb('created_at', cmp, Number(at)), eb.and([eb('created_at', '=', Number(at)), eb('certificate_id', cmp, id)])]));
      }
      const rows = await q.execute();
      return page(rows.map(toCertificate), p.limit, (c) => `${c.createdAt}:${c.id}`);
    }

    async attachThingPrincipal(s: Scope, a: ThingPrincipal): Promise<void> {
      await this.db
        .insertInto('thing_principals')
        .values({ account_id: s.accountId, region: s.region, thing_name: a.thingName, principal: a.principal, principal_type: a.type, attached_at: a.attachedAt })
        .onConflict((oc) => oc.columns(['account_id', 'region', 'thing_name', 'principal']).doUpdateSet({ principal_type: a.type }))
        .execute();
    }

    async detachThingPrincipal(s: Scope, thingName: string, principal: string): Promise<boolean> {
      const res = await this.db
        .deleteFrom('thing_principals')
        .$call(scoped(s))
        .where('thing_name', '=', thingName)
        .where('principal', '=', principal)
        .executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    }

    async listPrincipalsOfThing(s: Scope, thingName: string, p: PageRequest): Promise<Page<ThingPrincipal>> {
      let q = this.db
        .selectFrom('thing_principals')
        .selectAll()
        .$call(scoped(s))
        .where('thing_name', '=', thingName)
        .orderBy('principal')
        .limit(p.limit + 1);
      if (p.after !== undefined) q = q.where('principal', '>', p.after);
      const rows = await q.execute();
      return page(rows.map(toThingPrincipal), p.limit, (a) => a.principal);
    }

    async listThingsOfPrincipal(s: Scope, principal: string, p: PageRequest): Promise<Page<ThingPrincipal>> {
      let q = this.db
        .selectFrom('thing_principals')
        .selectAll()
        .$call(scoped(s))
        .where('principal', '=', principal)
        .orderBy('thing_name')
        .limit(p.limit + 1);
      if (p.after !== undefined) q = q.where('thing_name', '>', p.after);
      const rows = await q.execute();
      return page(rows.map(toThingPrincipal), p.limit, (a) => a.thingName);
    }

    async getThingPrincipal(s: Scope, thingName: string, principal: string): Promise<ThingPrincipal | undefined> {
      const row = await this.db
        .selectFrom('thing_principals')
        .selectAll()
        .$call(scoped(s))
        .where('thing_name', '=', thingName)
        .where('principal', '=', principal)
        .executeTakeFirst();
      return row && toThingPrincipal(row);
    }
  };
}
