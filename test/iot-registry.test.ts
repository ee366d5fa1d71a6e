// The IoT registry end to end: things, static thing groups and their hierarchy, membership (and its ordered
// log), and IoT tags, through the real @aws-sdk/client-iot against a real server on every store.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AddThingToThingGroupCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  DeleteThingCommand,
  DeleteThingGroupCommand,
  DescribeThingCommand,
  DescribeThingGroupCommand,
  InvalidRequestException,
  LimitExceededException,
  ListTagsForResourceCommand,
  ListThingGroupsCommand,
  ListThingGroupsForThingCommand,
  ListThingsCommand,
  ListThingsInThingGroupCommand,
  RemoveThingFromThingGroupCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateThingCommand,
  UpdateThingGroupCommand,
  VersionConflictException,
  paginateListThingGroups,
  paginateListThingGroupsForThing,
  paginateListThings,
  paginateListThingsInThingGroup,
  type IoTClient,
  type ListThingGroupsCommandInput,
} from '@aws-sdk/client-iot';
import { ManualClock } from '../src/core/clock.js';
import type { Scope } from '../src/store/store.js';
import { STORE_KINDS } from './helpers/databases.js';
import { startTestServer, type TestServer, type TestServerOptions } from './helpers/server.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const SCOPE: Scope = { accountId: ACCOUNT, region: REGION };
const thingArn = (name: string) => `arn:aws:iot:${REGION}:${ACCOUNT}:thing/${name}`;
const groupArn = (name: string) => `arn:aws:iot:${REGION}:${ACCOUNT}:thinggroup/${name}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A fresh server for the enclosing describe block, so listings and the membership log hold only its own data. */
function useServer(kind: 'sqlite' | 'postgres', opts: TestServerOptions = {}) {
  let server: TestServer | undefined;
  before(async () => {
    server = await startTestServer(kind, opts);
  });
  after(() => server?.close());
  return {
    get server(): TestServer {
      assert.ok(server, 'server not started');
      return server;
    },
    get iot(): IoTClient {
      return this.server.iot;
    },
  };
}

/** Awaits a call that must fail with exactly `cls`, its modelled HTTP status, and a message matching every pattern. */
async function expectError<T extends Error>(
  call: Promise<unknown>,
  cls: new (...args: any[]) => T,
  status: number,
  ...messages: RegExp[]
): Promise<T> {
  let caught: unknown;
  try {
    await call;
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof cls)) {
    const got = caught instanceof Error ? `${caught.name}: ${caught.message}` : `success (${JSON.stringify(caught)})`;
    assert.fail(`expected ${cls.name}, got ${got}`);
  }
  assert.equal((caught as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, status);
  for (const m of messages) assert.match(caught.message, m);
  return caught;
}

/** Walks a paginator: every page's nextToken is new and no name is listed twice. */
async function collectPages<P extends { nextToken?: string }>(pages: AsyncIterable<P>, names: (page: P) => (string | undefined)[]) {
  const all: string[] = [];
  const tokens = new Set<string>();
  let pageCount = 0;
  for await (const page of pages) {
    pageCount++;
    for (const n of names(page)) all.push(n!);
    if (page.nextToken !== undefined) {
      assert.ok(!tokens.has(page.nextToken), `nextToken ${page.nextToken} was handed out twice`);
      tokens.add(page.nextToken);
    }
  }
  assert.equal(new Set(all).size, all.length, `a name was listed twice: ${all.join(', ')}`);
  return { names: all, pageCount };
}

const sorted = (xs: (string | undefined)[] | undefined) => [...(xs ?? [])].sort();

for (const kind of STORE_KINDS) {
  describe(`IoT things (${kind})`, () => {
    const t = useServer(kind);

    it('CreateThing returns the ARN and id, and DescribeThing shows the new thing at version 1', async () => {
      const created = await t.iot.send(new CreateThingCommand({ thingName: 'core-a', attributePayload: { attributes: { site: 'north', rack: '7' } } }));
      assert.equal(created.thingName, 'core-a');
      assert.equal(created.thingArn, thingArn('core-a'));
      assert.match(created.thingId!, UUID);

      const d = await t.iot.send(new DescribeThingCommand({ thingName: 'core-a' }));
      assert.equal(d.thingName, 'core-a');
      assert.equal(d.thingArn, thingArn('core-a'));
      assert.equal(d.thingId, created.thingId);
      assert.equal(d.defaultClientId, 'core-a');
      assert.equal(d.version, 1);
      assert.deepEqual(d.attributes, { site: 'north', rack: '7' });
      assert.equal(d.thingTypeName, undefined);
    });

    it('CreateThing is idempotent for identical attributes and refuses different ones', async () => {
      const first = await t.iot.send(new CreateThingCommand({ thingName: 'core-idem', attributePayload: { attributes: { a: '1' } } }));
      const again = await t.iot.send(new CreateThingCommand({ thingName: 'core-idem', attributePayload: { attributes: { a: '1' } } }));
      assert.equal(again.thingId, first.thingId);
      assert.equal(again.thingArn, first.thingArn);

      const err = await expectError(
        t.iot.send(new CreateThingCommand({ thingName: 'core-idem', attributePayload: { attributes: { a: '2' } } })),
        ResourceAlreadyExistsException,
        409,
        /core-idem/,
        /already exists/,
      );
      assert.equal(err.resourceId, first.thingId);
      assert.equal(err.resourceArn, thingArn('core-idem'));
      // Without attributes it differs too: the existing thing has one.
      await expectError(t.iot.send(new CreateThingCommand({ thingName: 'core-idem' })), ResourceAlreadyExistsException, 409, /core-idem/);

      const d = await t.iot.send(new DescribeThingCommand({ thingName: 'core-idem' }));
      assert.deepEqual(d.attributes, { a: '1' });
      assert.equal(d.version, 1);
    });

    it('CreateThing with a thing type or billing group says it does not exist, and creates nothing', async () => {
      await expectError(
        t.iot.send(new CreateThingCommand({ thingName: 'core-typed', thingTypeName: 'Gateway' })),
        ResourceNotFoundException,
        404,
        /Thing type Gateway does not exist/,
      );
      await expectError(
        t.iot.send(new CreateThingCommand({ thingName: 'core-billed', billingGroupName: 'Team' })),
        ResourceNotFoundException,
        404,
        /Billing group Team does not exist/,
      );
      for (const name of ['core-typed', 'core-billed']) {
        await expectError(t.iot.send(new DescribeThingCommand({ thingName: name })), ResourceNotFoundException, 404, new RegExp(`Thing ${name} does not exist`));
      }
    });

    it('DescribeThing, UpdateThing and a missing thing: ResourceNotFoundException naming it', async () => {
      await expectError(t.iot.send(new DescribeThingCommand({ thingName: 'ghost' })), ResourceNotFoundException, 404, /Thing ghost does not exist/);
      await expectError(
        t.iot.send(new UpdateThingCommand({ thingName: 'ghost', attributePayload: { attributes: { a: '1' } } })),
        ResourceNotFoundException,
        404,
        /Thing ghost does not exist/,
      );
    });

    it('UpdateThing merges (empty value removes a key) or replaces, and counts versions', async () => {
      await t.iot.send(new CreateThingCommand({ thingName: 'core-upd', attributePayload: { attributes: { a: '1', b: '2', c: '3' } } }));

      await t.iot.send(new UpdateThingCommand({ thingName: 'core-upd', attributePayload: { attributes: { b: '', c: '30', d: '4' }, merge: true } }));
      let d = await t.iot.send(new DescribeThingCommand({ thingName: 'core-upd' }));
      assert.deepEqual(d.attributes, { a: '1', c: '30', d: '4' });
      assert.equal(d.version, 2);

      await t.iot.send(new UpdateThingCommand({ thingName: 'core-upd', attributePayload: { attributes: { z: '26' } } }));
      d = await t.iot.send(new DescribeThingCommand({ thingName: 'core-upd' }));
      assert.deepEqual(d.attributes, { z: '26' });
      assert.equal(d.version, 3);

      // The right expectedVersion is accepted.
      await t.iot.send(new UpdateThingCommand({ thingName: 'core-upd', expectedVersion: 3, attributePayload: { attributes: { y: '25' }, merge: true } }));
      d = await t.iot.send(new DescribeThingCommand({ thingName: 'core-upd' }));
      assert.deepEqual(d.attributes, { z: '26', y: '25' });
      assert.equal(d.version, 4);
    });

    it('UpdateThing with a stale expectedVersion is a VersionConflictException and changes nothing', async () => {
      await t.iot.send(new CreateThingCommand({ thingName: 'core-vc', attributePayload: { attributes: { a: '1' } } }));
      await t.iot.send(new UpdateThingCommand({ thingName: 'core-vc', attributePayload: { attributes: { a: '2' } } }));
      await expectError(
        t.iot.send(new UpdateThingCommand({ thingName: 'core-vc', expectedVersion: 1, attributePayload: { attributes: { a: '3' } } })),
        VersionConflictException,
        409,
        /expected version 1/,
        /core-vc/,
        /current version 2/,
      );
      const d = await t.iot.send(new DescribeThingCommand({ thingName: 'core-vc' }));
      assert.deepEqual(d.attributes, { a: '2' });
      assert.equal(d.version, 2);
    });

    it('DeleteThing removes the thing and its memberships; a missing thing deletes fine; a stale version is refused', async () => {
      await t.iot.send(new CreateThingCommand({ thingName: 'core-del' }));
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'del-g1' }));
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'del-g2' }));
      await t.iot.send(new AddThingToThingGroupCommand({ thingName: 'core-del', thingGroupName: 'del-g1' }));
      await t.iot.send(new AddThingToThingGroupCommand({ thingName: 'core-del', thingGroupName: 'del-g2' }));
      await t.iot.send(new UpdateThingCommand({ thingName: 'core-del', attributePayload: { attributes: { a: '1' } } }));

      await expectError(
        t.iot.send(new DeleteThingCommand({ thingName: 'core-del', expectedVersion: 1 })),
        VersionConflictException,
        409,
        /expected version 1/,
        /current version 2/,
      );
      const still = await t.iot.send(new ListThingGroupsForThingCommand({ thingName: 'core-del' }));
      assert.deepEqual(sorted(still.thingGroups?.map((g) => g.groupName)), ['del-g1', 'del-g2']);

      await t.iot.send(new DeleteThingCommand({ thingName: 'core-del', expectedVersion: 2 }));
      await expectError(t.iot.send(new DescribeThingCommand({ thingName: 'core-del' })), ResourceNotFoundException, 404, /core-del/);
      for (const g of ['del-g1', 'del-g2']) {
        const members = await t.iot.send(new ListThingsInThingGroupCommand({ thingGroupName: g }));
        assert.deepEqual(members.things, []);
      }
      // A new thing of the same name starts with no groups: the memberships were removed, not hidden.
      await t.iot.send(new CreateThingCommand({ thingName: 'core-del' }));
      const fresh = await t.iot.send(new ListThingGroupsForThingCommand({ thingName: 'core-del' }));
      assert.deepEqual(fresh.thingGroups, []);

      await t.iot.send(new DeleteThingCommand({ thingName: 'never-existed' }));
    });

    it('ListThings rejects attributeValue without attributeName', async () => {
      await expectError(t.iot.send(new ListThingsCommand({ attributeValue: 'north' })), InvalidRequestException, 400, /attributeValue requires attributeName/);
    });
  });

  describe(`IoT ListThings (${kind})`, () => {
    const t = useServer(kind);
    // 12 things: fleet-00..fleet-11; every third has no `site`, the others are in north-1, north-2 or south.
    const names = Array.from({ length: 12 }, (_, i) => `fleet-${String(i).padStart(2, '0')}`);
    const siteOf = (i: number) => (i % 3 === 0 ? undefined : ['north-1', 'north-2', 'south'][i % 4 === 0 ? 2 : i % 2]);

    before(async () => {
      for (const [i, name] of names.entries()) {
        const site = siteOf(i);
        await t.iot.send(new CreateThingCommand({ thingName: name, attributePayload: site ? { attributes: { site } } : undefined }));
      }
    });

    const expected = (keep: (site: string | undefined) => boolean) => names.filter((_, i) => keep(siteOf(i)));

    it('lists every thing with its ARN, attributes and version', async () => {
      const out = await t.iot.send(new ListThingsCommand({}));
      assert.deepEqual(
        out.things?.map((x) => x.thingName),
        names,
      );
      assert.equal(out.nextToken, undefined);
      const one = out.things!.find((x) => x.thingName === 'fleet-01')!;
      assert.equal(one.thingArn, thingArn('fleet-01'));
      assert.deepEqual(one.attributes, { site: siteOf(1) });
      assert.equal(one.version, 1);
    });

    it('filters by attribute name, exact value, and value prefix', async () => {
      const byName = await t.iot.send(new ListThingsCommand({ attributeName: 'site' }));
      assert.deepEqual(byName.things?.map((x) => x.thingName), expected((s) => s !== undefined));

      const exact = await t.iot.send(new ListThingsCommand({ attributeName: 'site', attributeValue: 'north' }));
      assert.deepEqual(exact.things, []);
      const exact1 = await t.iot.send(new ListThingsCommand({ attributeName: 'site', attributeValue: 'north-1' }));
      assert.deepEqual(exact1.things?.map((x) => x.thingName), expected((s) => s === 'north-1'));

      const prefix = await t.iot.send(new ListThingsCommand({ attributeName: 'site', attributeValue: 'north', usePrefixAttributeValue: true }));
      assert.deepEqual(prefix.things?.map((x) => x.thingName), expected((s) => s?.startsWith('north') === true));
      assert.ok(prefix.things!.length >= 2);

      const none = await t.iot.send(new ListThingsCommand({ attributeName: 'colour' }));
      assert.deepEqual(none.things, []);
    });

    it('paginates every thing exactly once, with a new token per page', async () => {
      const { names: listed, pageCount } = await collectPages(paginateListThings({ client: t.iot, pageSize: 5 }, {}), (p) =>
        (p.things ?? []).map((x) => x.thingName),
      );
      assert.deepEqual(listed, names);
      assert.equal(pageCount, 3);
    });

    it('paginates a filtered listing across pages', async () => {
      const { names: listed, pageCount } = await collectPages(
        paginateListThings({ client: t.iot, pageSize: 2 }, { attributeName: 'site', attributeValue: 'north', usePrefixAttributeValue: true }),
        (p) => (p.things ?? []).map((x) => x.thingName),
      );
      const want = expected((s) => s?.startsWith('north') === true);
      assert.deepEqual(listed, want);
      assert.equal(pageCount, Math.ceil(want.length / 2));
    });

    it('refuses a nextToken issued by another operation', async () => {
      const groups = await t.iot.send(new ListThingsCommand({ maxResults: 1 }));
      assert.ok(groups.nextToken);
      await expectError(
        t.iot.send(new ListThingGroupsCommand({ nextToken: groups.nextToken })),
        InvalidRequestException,
        400,
        /nextToken/,
        /ListThingGroups/,
      );
    });
  });

  describe(`IoT thing groups (${kind})`, () => {
    const clock = new ManualClock(Date.UTC(2026, 2, 4, 5, 6, 7, 250));
    const t = useServer(kind, { clock });

    it('CreateThingGroup builds a hierarchy that DescribeThingGroup reports root first', async () => {
      const root = await t.iot.send(
        new CreateThingGroupCommand({
          thingGroupName: 'plant',
          thingGroupProperties: { thingGroupDescription: 'the whole plant', attributePayload: { attributes: { city: 'Lyon' } } },
          tags: [{ Key: 'env', Value: 'prod' }],
        }),
      );
      assert.equal(root.thingGroupName, 'plant');
      assert.equal(root.thingGroupArn, groupArn('plant'));
      assert.match(root.thingGroupId!, UUID);
      clock.advance(1000);
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'line-1', parentGroupName: 'plant' }));
      const leaf = await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'line-1-cell-a', parentGroupName: 'line-1' }));

      const r = await t.iot.send(new DescribeThingGroupCommand({ thingGroupName: 'plant' }));
      assert.equal(r.thingGroupName, 'plant');
      assert.equal(r.thingGroupId, root.thingGroupId);
      assert.equal(r.thingGroupArn, groupArn('plant'));
      assert.equal(r.version, 1);
      assert.equal(r.thingGroupProperties?.thingGroupDescription, 'the whole plant');
      assert.deepEqual(r.thingGroupProperties?.attributePayload?.attributes, { city: 'Lyon' });
      assert.equal(r.thingGroupMetadata?.parentGroupName, undefined);
      assert.deepEqual(r.thingGroupMetadata?.rootToParentThingGroups ?? [], []);
      assert.ok(r.thingGroupMetadata?.creationDate instanceof Date);
      assert.equal(r.thingGroupMetadata.creationDate.getTime(), Date.UTC(2026, 2, 4, 5, 6, 7, 250));

      const l = await t.iot.send(new DescribeThingGroupCommand({ thingGroupName: 'line-1-cell-a' }));
      assert.equal(l.thingGroupId, leaf.thingGroupId);
      assert.equal(l.thingGroupMetadata?.parentGroupName, 'line-1');
      assert.deepEqual(l.thingGroupMetadata?.rootToParentThingGroups, [
        { groupName: 'plant', groupArn: groupArn('plant') },
        { groupName: 'line-1', groupArn: groupArn('line-1') },
      ]);
      assert.equal(l.thingGroupMetadata?.creationDate?.getTime(), Date.UTC(2026, 2, 4, 5, 6, 8, 250));

      const tags = await t.iot.send(new ListTagsForResourceCommand({ resourceArn: groupArn('plant') }));
      assert.deepEqual(tags.tags, [{ Key: 'env', Value: 'prod' }]);
    });

    it('CreateThingGroup is idempotent when identical and ResourceAlreadyExists otherwise', async () => {
      const props = { thingGroupDescription: 'd', attributePayload: { attributes: { k: 'v' } } };
      const first = await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'same', thingGroupProperties: props }));
      const again = await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'same', thingGroupProperties: props }));
      assert.equal(again.thingGroupId, first.thingGroupId);
      assert.equal(again.thingGroupArn, groupArn('same'));

      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'same-parent' }));
      const different = [
        { thingGroupProperties: { ...props, thingGroupDescription: 'other' } },
        { thingGroupProperties: { ...props, attributePayload: { attributes: { k: 'w' } } } },
        { thingGroupProperties: props, parentGroupName: 'same-parent' },
      ];
      for (const change of different) {
        const err = await expectError(
          t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'same', ...change })),
          ResourceAlreadyExistsException,
          409,
          /Thing group same already exists/,
        );
        assert.equal(err.resourceId, first.thingGroupId);
        assert.equal(err.resourceArn, groupArn('same'));
      }
      const d = await t.iot.send(new DescribeThingGroupCommand({ thingGroupName: 'same' }));
      assert.equal(d.thingGroupProperties?.thingGroupDescription, 'd');
      assert.equal(d.thingGroupMetadata?.parentGroupName, undefined);
    });

    it('a missing parent or an 8th level is an InvalidRequestException, and nothing is created', async () => {
      await expectError(
        t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'orphan', parentGroupName: 'no-such-parent' })),
        InvalidRequestException,
        400,
        /Parent thing group no-such-parent does not exist/,
      );
      await expectError(t.iot.send(new DescribeThingGroupCommand({ thingGroupName: 'orphan' })), ResourceNotFoundException, 404, /orphan/);

      let parent: string | undefined;
      for (let level = 1; level <= 7; level++) {
        await t.iot.send(new CreateThingGroupCommand({ thingGroupName: `level-${level}`, parentGroupName: parent }));
        parent = `level-${level}`;
      }
      const deepest = await t.iot.send(new DescribeThingGroupCommand({ thingGroupName: 'level-7' }));
      assert.equal(deepest.thingGroupMetadata?.rootToParentThingGroups?.length, 6);
      await expectError(
        t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'level-8', parentGroupName: 'level-7' })),
        InvalidRequestException,
        400,
        /level-8/,
        /depth 8/,
        /at most 7 levels/,
      );
      await expectError(t.iot.send(new DescribeThingGroupCommand({ thingGroupName: 'level-8' })), ResourceNotFoundException, 404, /level-8/);
    });

    it('UpdateThingGroup changes the description, merges attributes and returns the version', async () => {
      await t.iot.send(
        new CreateThingGroupCommand({
          thingGroupName: 'upd',
          thingGroupProperties: { thingGroupDescription: 'before', attributePayload: { attributes: { a: '1', b: '2' } } },
        }),
      );
      const u1 = await t.iot.send(
        new UpdateThingGroupCommand({
          thingGroupName: 'upd',
          thingGroupProperties: { thingGroupDescription: 'after', attributePayload: { attributes: { b: '', c: '3' }, merge: true } },
        }),
      );
      assert.equal(u1.version, 2);
      let d = await t.iot.send(new DescribeThingGroupCommand({ thingGroupName: 'upd' }));
      assert.equal(d.thingGroupProperties?.thingGroupDescription, 'after');
      assert.deepEqual(d.thingGroupProperties?.attributePayload?.attributes, { a: '1', c: '3' });
      assert.equal(d.version, 2);

      // Without merge the attributes are replaced; an absent description is kept.
      const u2 = await t.iot.send(
        new UpdateThingGroupCommand({ thingGroupName: 'upd', expectedVersion: 2, thingGroupProperties: { attributePayload: { attributes: { z: '9' } } } }),
      );
      assert.equal(u2.version, 3);
      d = await t.iot.send(new DescribeThingGroupCommand({ thingGroupName: 'upd' }));
      assert.equal(d.thingGroupProperties?.thingGroupDescription, 'after');
      assert.deepEqual(d.thingGroupProperties?.attributePayload?.attributes, { z: '9' });

      await expectError(
        t.iot.send(new UpdateThingGroupCommand({ thingGroupName: 'upd', expectedVersion: 2, thingGroupProperties: { thingGroupDescription: 'stale' } })),
        VersionConflictException,
        409,
        /expected version 2/,
        /upd/,
        /current version 3/,
      );
      d = await t.iot.send(new DescribeThingGroupCommand({ thingGroupName: 'upd' }));
      assert.equal(d.thingGroupProperties?.thingGroupDescription, 'after');
      assert.equal(d.version, 3);

      await expectError(
        t.iot.send(new UpdateThingGroupCommand({ thingGroupName: 'no-such-group', thingGroupProperties: { thingGroupDescription: 'x' } })),
        ResourceNotFoundException,
        404,
        /Thing group no-such-group does not exist/,
      );
    });

    it('DeleteThingGroup is refused while it has children, removes memberships and tags, and accepts a missing group', async () => {
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'del-parent', tags: [{ Key: 'owner', Value: 'ops' }] }));
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'del-child', parentGroupName: 'del-parent' }));
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'del-other' }));
      await t.iot.send(new CreateThingCommand({ thingName: 'del-member' }));
      await t.iot.send(new AddThingToThingGroupCommand({ thingName: 'del-member', thingGroupName: 'del-parent' }));
      await t.iot.send(new AddThingToThingGroupCommand({ thingName: 'del-member', thingGroupName: 'del-other' }));

      await expectError(
        t.iot.send(new DeleteThingGroupCommand({ thingGroupName: 'del-parent' })),
        InvalidRequestException,
        400,
        /del-parent has child groups/,
        /del-child/,
      );
      const kept = await t.iot.send(new DescribeThingGroupCommand({ thingGroupName: 'del-parent' }));
      assert.equal(kept.thingGroupName, 'del-parent');

      await expectError(t.iot.send(new DeleteThingGroupCommand({ thingGroupName: 'del-child', expectedVersion: 5 })), VersionConflictException, 409, /del-child/);
      await t.iot.send(new DeleteThingGroupCommand({ thingGroupName: 'del-child', expectedVersion: 1 }));
      await t.iot.send(new DeleteThingGroupCommand({ thingGroupName: 'del-parent' }));
      await expectError(t.iot.send(new DescribeThingGroupCommand({ thingGroupName: 'del-parent' })), ResourceNotFoundException, 404, /del-parent/);

      const left = await t.iot.send(new ListThingGroupsForThingCommand({ thingName: 'del-member' }));
      assert.deepEqual(left.thingGroups?.map((g) => g.groupName), ['del-other']);

      // A group created again under the same name starts without the old group's tags.
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'del-parent' }));
      const tags = await t.iot.send(new ListTagsForResourceCommand({ resourceArn: groupArn('del-parent') }));
      assert.deepEqual(tags.tags ?? [], []);
      const members = await t.iot.send(new ListThingsInThingGroupCommand({ thingGroupName: 'del-parent' }));
      assert.deepEqual(members.things, []);

      await t.iot.send(new DeleteThingGroupCommand({ thingGroupName: 'never-was-a-group' }));
    });
  });

  describe(`IoT ListThingGroups (${kind})`, () => {
    const t = useServer(kind);
    //   eu ── eu-fr ── eu-fr-paris
    //      └─ eu-de
    //   us ── us-east
    //   asia
    const tree: [string, string | undefined][] = [
      ['eu', undefined],
      ['eu-fr', 'eu'],
      ['eu-fr-paris', 'eu-fr'],
      ['eu-de', 'eu'],
      ['us', undefined],
      ['us-east', 'us'],
      ['asia', undefined],
    ];
    const all = tree.map(([n]) => n).sort();

    before(async () => {
      for (const [name, parentGroupName] of tree) await t.iot.send(new CreateThingGroupCommand({ thingGroupName: name, parentGroupName }));
    });

    const list = async (input: ListThingGroupsCommandInput) => {
      const out = await t.iot.send(new ListThingGroupsCommand(input));
      assert.equal(out.nextToken, undefined);
      for (const g of out.thingGroups ?? []) assert.equal(g.groupArn, groupArn(g.groupName!));
      return out.thingGroups?.map((g) => g.groupName);
    };

    it('lists all groups, direct children, all descendants, or roots only', async () => {
      assert.deepEqual(await list({}), all);
      assert.deepEqual(await list({ parentGroup: 'eu' }), ['eu-de', 'eu-fr']);
      assert.deepEqual(await list({ parentGroup: 'eu', recursive: true }), ['eu-de', 'eu-fr', 'eu-fr-paris']);
      assert.deepEqual(await list({ parentGroup: 'eu-fr-paris', recursive: true }), []);
      assert.deepEqual(await list({ recursive: false }), ['asia', 'eu', 'us']);
    });

    it('filters by name prefix, alone and with a parent', async () => {
      assert.deepEqual(await list({ namePrefixFilter: 'eu-' }), ['eu-de', 'eu-fr', 'eu-fr-paris']);
      assert.deepEqual(await list({ namePrefixFilter: 'us' }), ['us', 'us-east']);
      assert.deepEqual(await list({ parentGroup: 'eu', recursive: true, namePrefixFilter: 'eu-fr' }), ['eu-fr', 'eu-fr-paris']);
      assert.deepEqual(await list({ namePrefixFilter: 'zz' }), []);
    });

    it('paginates every group exactly once, including a recursive listing', async () => {
      const whole = await collectPages(paginateListThingGroups({ client: t.iot, pageSize: 2 }, {}), (p) => (p.thingGroups ?? []).map((g) => g.groupName));
      assert.deepEqual(whole.names, all);
      assert.equal(whole.pageCount, 4);

      const below = await collectPages(paginateListThingGroups({ client: t.iot, pageSize: 1 }, { parentGroup: 'eu', recursive: true }), (p) =>
        (p.thingGroups ?? []).map((g) => g.groupName),
      );
      assert.deepEqual(below.names, ['eu-de', 'eu-fr', 'eu-fr-paris']);
      assert.equal(below.pageCount, 3);
    });

    it('an unknown parentGroup is a ResourceNotFoundException', async () => {
      for (const recursive of [undefined, true]) {
        await expectError(
          t.iot.send(new ListThingGroupsCommand({ parentGroup: 'mars', recursive })),
          ResourceNotFoundException,
          404,
          /Thing group mars does not exist/,
        );
      }
    });
  });

  describe(`IoT thing group membership (${kind})`, () => {
    const t = useServer(kind);

    it('adds by names and by ARNs, and a second add changes nothing', async () => {
      await t.iot.send(new CreateThingCommand({ thingName: 'm-thing' }));
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'm-by-name' }));
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'm-by-arn' }));

      await t.iot.send(new AddThingToThingGroupCommand({ thingName: 'm-thing', thingGroupName: 'm-by-name' }));
      await t.iot.send(new AddThingToThingGroupCommand({ thingArn: thingArn('m-thing'), thingGroupArn: groupArn('m-by-arn') }));
      await t.iot.send(new AddThingToThingGroupCommand({ thingName: 'm-thing', thingGroupName: 'm-by-name' }));
      await t.iot.send(new AddThingToThingGroupCommand({ thingArn: thingArn('m-thing'), thingGroupName: 'm-by-arn' }));

      const groups = await t.iot.send(new ListThingGroupsForThingCommand({ thingName: 'm-thing' }));
      assert.deepEqual(groups.thingGroups, [
        { groupName: 'm-by-arn', groupArn: groupArn('m-by-arn') },
        { groupName: 'm-by-name', groupArn: groupArn('m-by-name') },
      ]);
      for (const g of ['m-by-name', 'm-by-arn']) {
        const things = await t.iot.send(new ListThingsInThingGroupCommand({ thingGroupName: g }));
        assert.deepEqual(things.things, ['m-thing']);
      }
    });

    it('a missing thing or group is a ResourceNotFoundException; a missing or doubled reference an InvalidRequestException', async () => {
      await t.iot.send(new CreateThingCommand({ thingName: 'r-thing' }));
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'r-group' }));

      await expectError(
        t.iot.send(new AddThingToThingGroupCommand({ thingName: 'no-thing', thingGroupName: 'r-group' })),
        ResourceNotFoundException,
        404,
        /Thing no-thing does not exist/,
      );
      await expectError(
        t.iot.send(new AddThingToThingGroupCommand({ thingName: 'r-thing', thingGroupArn: groupArn('no-group') })),
        ResourceNotFoundException,
        404,
        /Thing group no-group does not exist/,
      );
      await expectError(
        t.iot.send(new AddThingToThingGroupCommand({ thingGroupName: 'r-group' })),
        InvalidRequestException,
        400,
        /Specify thingName or thingArn/,
      );
      await expectError(
        t.iot.send(new AddThingToThingGroupCommand({ thingName: 'r-thing' })),
        InvalidRequestException,
        400,
        /Specify thingGroupName or thingGroupArn/,
      );
      await expectError(
        t.iot.send(new AddThingToThingGroupCommand({ thingName: 'r-thing', thingArn: thingArn('r-thing'), thingGroupName: 'r-group' })),
        InvalidRequestException,
        400,
        /thingName or thingArn, not both/,
      );
      // An ARN of another account, or of a different kind of resource, names nothing here.
      await expectError(
        t.iot.send(new AddThingToThingGroupCommand({ thingArn: 'arn:aws:iot:us-east-1:999999999999:thing/r-thing', thingGroupName: 'r-group' })),
        InvalidRequestException,
        400,
        /thingArn 'arn:aws:iot:us-east-1:999999999999:thing\/r-thing' is not a thing ARN of this account and region/,
      );
      await expectError(
        t.iot.send(new AddThingToThingGroupCommand({ thingName: 'r-thing', thingGroupArn: thingArn('r-group') })),
        InvalidRequestException,
        400,
        /thingGroupArn .* is not a thinggroup ARN/,
      );
      await expectError(
        t.iot.send(new RemoveThingFromThingGroupCommand({ thingName: 'no-thing', thingGroupName: 'r-group' })),
        ResourceNotFoundException,
        404,
        /Thing no-thing does not exist/,
      );

      const groups = await t.iot.send(new ListThingGroupsForThingCommand({ thingName: 'r-thing' }));
      assert.deepEqual(groups.thingGroups, []);
    });

    it('an 11th group is a LimitExceededException and the thing keeps exactly 10', async () => {
      await t.iot.send(new CreateThingCommand({ thingName: 'busy' }));
      const groups = Array.from({ length: 11 }, (_, i) => `busy-g${String(i).padStart(2, '0')}`);
      for (const g of groups) await t.iot.send(new CreateThingGroupCommand({ thingGroupName: g }));
      for (const g of groups.slice(0, 10)) await t.iot.send(new AddThingToThingGroupCommand({ thingName: 'busy', thingGroupName: g }));
      // Re-adding one it already has is still a no-op at the limit.
      await t.iot.send(new AddThingToThingGroupCommand({ thingName: 'busy', thingGroupName: groups[0] }));

      await expectError(
        t.iot.send(new AddThingToThingGroupCommand({ thingName: 'busy', thingGroupName: groups[10] })),
        LimitExceededException,
        410,
        /busy already belongs to 10 thing groups/,
      );
      const listed = await collectPages(paginateListThingGroupsForThing({ client: t.iot, pageSize: 3 }, { thingName: 'busy' }), (p) =>
        (p.thingGroups ?? []).map((g) => g.groupName),
      );
      assert.deepEqual(listed.names, groups.slice(0, 10));
      assert.equal(listed.pageCount, 4);
      const outsider = await t.iot.send(new ListThingsInThingGroupCommand({ thingGroupName: groups[10] }));
      assert.deepEqual(outsider.things, []);

      // Leaving one group makes room again.
      await t.iot.send(new RemoveThingFromThingGroupCommand({ thingName: 'busy', thingGroupName: groups[0] }));
      await t.iot.send(new AddThingToThingGroupCommand({ thingName: 'busy', thingGroupName: groups[10] }));
      const after = await t.iot.send(new ListThingGroupsForThingCommand({ thingName: 'busy' }));
      assert.deepEqual(after.thingGroups?.map((g) => g.groupName), groups.slice(1));
    });

    it('RemoveThingFromThingGroup removes a member, by names or ARNs, and is a no-op for a non-member', async () => {
      await t.iot.send(new CreateThingCommand({ thingName: 'rm-thing' }));
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'rm-a' }));
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'rm-b' }));
      await t.iot.send(new AddThingToThingGroupCommand({ thingName: 'rm-thing', thingGroupName: 'rm-a' }));
      await t.iot.send(new AddThingToThingGroupCommand({ thingName: 'rm-thing', thingGroupName: 'rm-b' }));

      await t.iot.send(new RemoveThingFromThingGroupCommand({ thingName: 'rm-thing', thingGroupName: 'rm-a' }));
      await t.iot.send(new RemoveThingFromThingGroupCommand({ thingName: 'rm-thing', thingGroupName: 'rm-a' }));
      let groups = await t.iot.send(new ListThingGroupsForThingCommand({ thingName: 'rm-thing' }));
      assert.deepEqual(groups.thingGroups?.map((g) => g.groupName), ['rm-b']);

      await t.iot.send(new RemoveThingFromThingGroupCommand({ thingArn: thingArn('rm-thing'), thingGroupArn: groupArn('rm-b') }));
      groups = await t.iot.send(new ListThingGroupsForThingCommand({ thingName: 'rm-thing' }));
      assert.deepEqual(groups.thingGroups, []);
      const members = await t.iot.send(new ListThingsInThingGroupCommand({ thingGroupName: 'rm-b' }));
      assert.deepEqual(members.things, []);
    });

    it('ListThingsInThingGroup lists direct members, or with recursive the distinct members of all descendants', async () => {
      // top ── mid ── low ; top ── side
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'top' }));
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'mid', parentGroupName: 'top' }));
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'low', parentGroupName: 'mid' }));
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'side', parentGroupName: 'top' }));
      const placement: [string, string[]][] = [
        ['dev-1', ['top']],
        ['dev-2', ['mid', 'top']],
        ['dev-3', ['low', 'mid']],
        ['dev-4', ['side']],
        ['dev-5', ['low', 'side']],
        ['dev-6', []],
      ];
      for (const [thing, groups] of placement) {
        await t.iot.send(new CreateThingCommand({ thingName: thing }));
        for (const g of groups) await t.iot.send(new AddThingToThingGroupCommand({ thingName: thing, thingGroupName: g }));
      }

      const direct = await t.iot.send(new ListThingsInThingGroupCommand({ thingGroupName: 'top' }));
      assert.deepEqual(direct.things, ['dev-1', 'dev-2']);
      const recursive = await t.iot.send(new ListThingsInThingGroupCommand({ thingGroupName: 'top', recursive: true }));
      assert.deepEqual(recursive.things, ['dev-1', 'dev-2', 'dev-3', 'dev-4', 'dev-5']);
      const midDown = await t.iot.send(new ListThingsInThingGroupCommand({ thingGroupName: 'mid', recursive: true }));
      assert.deepEqual(midDown.things, ['dev-2', 'dev-3', 'dev-5']);

      const paged = await collectPages(paginateListThingsInThingGroup({ client: t.iot, pageSize: 2 }, { thingGroupName: 'top', recursive: true }), (p) => p.things ?? []);
      assert.deepEqual(paged.names, ['dev-1', 'dev-2', 'dev-3', 'dev-4', 'dev-5']);
      assert.equal(paged.pageCount, 3);

      const forThing = await t.iot.send(new ListThingGroupsForThingCommand({ thingName: 'dev-3' }));
      assert.deepEqual(forThing.thingGroups?.map((g) => g.groupName), ['low', 'mid']);
    });

    it('listing members of a missing group or groups of a missing thing is a ResourceNotFoundException', async () => {
      await expectError(
        t.iot.send(new ListThingsInThingGroupCommand({ thingGroupName: 'nowhere' })),
        ResourceNotFoundException,
        404,
        /Thing group nowhere does not exist/,
      );
      await expectError(
        t.iot.send(new ListThingGroupsForThingCommand({ thingName: 'nobody' })),
        ResourceNotFoundException,
        404,
        /Thing nobody does not exist/,
      );
    });
  });

  describe(`IoT membership log (${kind})`, () => {
    const t = useServer(kind);

    it('records exactly the membership changes made through the API, in order', async () => {
      for (const thingName of ['alpha', 'beta']) await t.iot.send(new CreateThingCommand({ thingName }));
      for (const thingGroupName of ['g1', 'g2']) await t.iot.send(new CreateThingGroupCommand({ thingGroupName }));
      const add = (thingName: string, thingGroupName: string) => t.iot.send(new AddThingToThingGroupCommand({ thingName, thingGroupName }));
      const remove = (thingName: string, thingGroupName: string) => t.iot.send(new RemoveThingFromThingGroupCommand({ thingName, thingGroupName }));

      await add('alpha', 'g1');
      await add('alpha', 'g1'); // no-op
      await add('beta', 'g1');
      await add('alpha', 'g2');
      await remove('beta', 'g1');
      await remove('beta', 'g1'); // no-op
      await remove('beta', 'g2'); // not a member: no-op
      await t.iot.send(new DeleteThingCommand({ thingName: 'alpha' })); // leaves g1 and g2
      await add('beta', 'g2');
      await t.iot.send(new DeleteThingGroupCommand({ thingGroupName: 'g2' })); // beta leaves g2
      await t.iot.send(new DeleteThingGroupCommand({ thingGroupName: 'g2' })); // already gone: no-op
      await t.iot.send(new DeleteThingCommand({ thingName: 'alpha' })); // already gone: no-op

      const log = await t.server.store.membershipChangesAfter(SCOPE, 0, 1000);
      assert.deepEqual(
        log.map((c) => [c.change, c.thingName, c.groupName]),
        [
          ['ADDED', 'alpha', 'g1'],
          ['ADDED', 'beta', 'g1'],
          ['ADDED', 'alpha', 'g2'],
          ['REMOVED', 'beta', 'g1'],
          ['REMOVED', 'alpha', 'g1'],
          ['REMOVED', 'alpha', 'g2'],
          ['ADDED', 'beta', 'g2'],
          ['REMOVED', 'beta', 'g2'],
        ],
      );
      for (let i = 1; i < log.length; i++) assert.ok(log[i].seq > log[i - 1].seq, `seq ${log[i].seq} does not follow ${log[i - 1].seq}`);
      // Reading after a seq resumes right behind it.
      const tail = await t.server.store.membershipChangesAfter(SCOPE, log[5].seq, 1000);
      assert.deepEqual(tail, log.slice(6));
      // The log belongs to its account and region.
      assert.deepEqual(await t.server.store.membershipChangesAfter({ accountId: ACCOUNT, region: 'eu-west-1' }, 0, 1000), []);
    });

    it('concurrent adds each get their own entry with a distinct, increasing seq', async () => {
      const before = await t.server.store.membershipChangesAfter(SCOPE, 0, 1000);
      const lastSeq = before.length > 0 ? before[before.length - 1].seq : 0;
      const things = Array.from({ length: 30 }, (_, i) => `swarm-${String(i).padStart(2, '0')}`);
      await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'swarm' }));
      for (const thingName of things) await t.iot.send(new CreateThingCommand({ thingName }));

      await Promise.all(things.map((thingName) => t.iot.send(new AddThingToThingGroupCommand({ thingName, thingGroupName: 'swarm' }))));

      const log = await t.server.store.membershipChangesAfter(SCOPE, lastSeq, 1000);
      assert.equal(log.length, 30);
      assert.deepEqual(log.map((c) => c.thingName).sort(), things);
      for (const c of log) {
        assert.equal(c.change, 'ADDED');
        assert.equal(c.groupName, 'swarm');
      }
      for (let i = 1; i < log.length; i++) assert.ok(log[i].seq > log[i - 1].seq, `seq ${log[i].seq} does not follow ${log[i - 1].seq}`);
      const members = await t.iot.send(new ListThingsInThingGroupCommand({ thingGroupName: 'swarm', maxResults: 250 }));
      assert.deepEqual(members.things, things);
    });
  });

  describe(`IoT tags (${kind})`, () => {
    const t = useServer(kind);

    it('tags, lists and untags a thing group by ARN', async () => {
      const g = await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'tagged' }));
      const arn = g.thingGroupArn!;
      assert.deepEqual((await t.iot.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags ?? [], []);

      await t.iot.send(new TagResourceCommand({ resourceArn: arn, tags: [{ Key: 'env', Value: 'prod' }, { Key: 'team', Value: 'edge' }] }));
      let tags = await t.iot.send(new ListTagsForResourceCommand({ resourceArn: arn }));
      assert.deepEqual(tags.tags, [
        { Key: 'env', Value: 'prod' },
        { Key: 'team', Value: 'edge' },
      ]);

      // Tagging again overwrites a key's value and keeps the others.
      await t.iot.send(new TagResourceCommand({ resourceArn: arn, tags: [{ Key: 'env', Value: 'staging' }] }));
      await t.iot.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['team', 'absent'] }));
      tags = await t.iot.send(new ListTagsForResourceCommand({ resourceArn: arn }));
      assert.deepEqual(tags.tags, [{ Key: 'env', Value: 'staging' }]);
    });

    it('tags a thing by ARN too', async () => {
      const th = await t.iot.send(new CreateThingCommand({ thingName: 'tagged-thing' }));
      await t.iot.send(new TagResourceCommand({ resourceArn: th.thingArn, tags: [{ Key: 'owner', Value: 'me' }] }));
      const tags = await t.iot.send(new ListTagsForResourceCommand({ resourceArn: th.thingArn }));
      assert.deepEqual(tags.tags, [{ Key: 'owner', Value: 'me' }]);
    });

    it('a 51st tag is an InvalidRequestException, while overwriting a key at the limit is fine', async () => {
      const g = await t.iot.send(new CreateThingGroupCommand({ thingGroupName: 'many-tags' }));
      const fifty = Array.from({ length: 50 }, (_, i) => ({ Key: `k${String(i).padStart(2, '0')}`, Value: 'v' }));
      await t.iot.send(new TagResourceCommand({ resourceArn: g.thingGroupArn, tags: fifty }));
      await t.iot.send(new TagResourceCommand({ resourceArn: g.thingGroupArn, tags: [{ Key: 'k00', Value: 'changed' }] }));
      await expectError(
        t.iot.send(new TagResourceCommand({ resourceArn: g.thingGroupArn, tags: [{ Key: 'one-more', Value: 'v' }] })),
        InvalidRequestException,
        400,
        /at most 50 tags/,
      );
      const tags = await t.iot.send(new ListTagsForResourceCommand({ resourceArn: g.thingGroupArn }));
      assert.equal(tags.tags?.length, 50);
      assert.deepEqual(tags.tags?.[0], { Key: 'k00', Value: 'changed' });
    });

    it('an unknown ARN is a ResourceNotFoundException naming it', async () => {
      const missing = groupArn('no-such-group');
      await expectError(
        t.iot.send(new TagResourceCommand({ resourceArn: missing, tags: [{ Key: 'k', Value: 'v' }] })),
        ResourceNotFoundException,
        404,
        /Resource arn:aws:iot:us-east-1:123456789012:thinggroup\/no-such-group does not exist/,
      );
      await expectError(t.iot.send(new ListTagsForResourceCommand({ resourceArn: missing })), ResourceNotFoundException, 404, /no-such-group does not exist/);
      await expectError(t.iot.send(new UntagResourceCommand({ resourceArn: missing, tagKeys: ['k'] })), ResourceNotFoundException, 404, /no-such-group does not exist/);
      // A thing of that name does not make the thing-group ARN exist, nor does another account's ARN count.
      await t.iot.send(new CreateThingCommand({ thingName: 'only-a-thing' }));
      await expectError(t.iot.send(new ListTagsForResourceCommand({ resourceArn: groupArn('only-a-thing') })), ResourceNotFoundException, 404, /only-a-thing/);
      await expectError(
        t.iot.send(new ListTagsForResourceCommand({ resourceArn: 'arn:aws:iot:us-east-1:999999999999:thing/only-a-thing' })),
        ResourceNotFoundException,
        404,
        /999999999999/,
      );
    });
  });

  describe(`IoT model validation (${kind})`, () => {
    const t = useServer(kind);

    it('a thingName with a space is an InvalidRequestException naming thingName and its pattern', async () => {
      await expectError(
        t.iot.send(new CreateThingCommand({ thingName: 'bad name' })),
        InvalidRequestException,
        400,
        /'bad name'/,
        /at 'thingName'/,
        /regular expression pattern: \[a-zA-Z0-9:_-\]\+/,
      );
      await expectError(t.iot.send(new DescribeThingCommand({ thingName: 'bad name' })), InvalidRequestException, 400, /at 'thingName'/);
      const list = await t.iot.send(new ListThingsCommand({}));
      assert.deepEqual(list.things, []);
    });

    it('maxResults 251 on ListThings is an InvalidRequestException naming maxResults and the limit', async () => {
      await expectError(
        t.iot.send(new ListThingsCommand({ maxResults: 251 })),
        InvalidRequestException,
        400,
        /'251'/,
        /at 'maxResults'/,
        /less than or equal to 250/,
      );
      await expectError(t.iot.send(new ListThingsCommand({ maxResults: 0 })), InvalidRequestException, 400, /at 'maxResults'/, /greater than or equal to 1/);
      const ok = await t.iot.send(new ListThingsCommand({ maxResults: 250 }));
      assert.deepEqual(ok.things, []);
    });
  });
}
