// The pure fleet-status rules (src/core/fleet-status): reading nucleus messages as Jackson writes them, and what a
// message does to the stored device. The end-to-end behaviour over MQTT is in core-devices.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyFleetStatus, componentsUpdateOf, parseFleetStatus, type FleetStatusMessage } from '../src/core/fleet-status/index.js';

const base = { ggcVersion: '2.12.0', platform: 'linux', architecture: 'amd64', thing: 'Core', overallDeviceStatus: 'HEALTHY', sequenceNumber: 1, timestamp: 1 };

function parsed(body: object): FleetStatusMessage {
  const r = parseFleetStatus(JSON.stringify(body), 'Core');
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.message;
}

describe('parseFleetStatus', () => {
  it('reads null members as absent, a missing messageType as PARTIAL, and one chunk as none', () => {
    const m = parsed({ ...base, messageType: null, trigger: null, chunkInfo: { chunkId: 0, totalChunks: 1 }, deploymentInformation: null, components: null });
    assert.equal(m.messageType, 'PARTIAL');
    assert.equal(m.trigger, undefined);
    assert.equal(m.chunk, undefined);
    assert.equal(m.deploymentInformation, undefined);
    assert.deepEqual(m.components, []);
  });

  it("reads a component's status codes under either name the nucleus has used", () => {
    for (const key of ['statusCodes', 'statusCode']) {
      const m = parsed({
        ...base,
        components: [{ componentName: 'A', version: '1.0.0', isRoot: true, status: 'ERRORED', componentStatusDetails: { [key]: ['RUN_ERROR'], statusReason: 'exit 1' } }],
      });
      assert.deepEqual(m.components[0], { componentName: 'A', version: '1.0.0', status: 'ERRORED', isRoot: true, statusCodes: ['RUN_ERROR'], statusReason: 'exit 1' });
    }
  });

  it('names what is wrong with a malformed message', () => {
    const reason = (body: unknown) => {
      const r = parseFleetStatus(JSON.stringify(body), 'Core');
      return r.ok ? 'accepted' : r.reason;
    };
    assert.match(reason({ ...base, thing: 'Other' }), /thing 'Other'/);
    assert.match(reason({ ...base, overallDeviceStatus: 'OK' }), /overallDeviceStatus/);
    assert.match(reason({ ...base, sequenceNumber: 1.5 }), /sequenceNumber/);
    assert.match(reason({ ...base, components: [{ componentName: 'A', version: '1', status: 'DANCING' }] }), /components\[0\]\.status/);
    assert.match(reason({ ...base, chunkInfo: { chunkId: 2, totalChunks: 2 } }), /chunkInfo/);
    assert.match(reason({ ...base, ggcVersion: undefined }), /ggcVersion/);
    assert.equal(parseFleetStatus('{', 'Core').ok, false);
  });
});

describe('applyFleetStatus', () => {
  it('a successful local deployment makes LOCAL the installation source, of unchanged roots too', () => {
    const installed = [
      { componentName: 'A', componentVersion: '1.0.0', lifecycleState: 'RUNNING' as const, lifecycleStatusCodes: [], isRoot: true, lastStatusChangeAt: 1, lastReportedAt: 1, lastInstallationSource: 'd-1' },
    ];
    const m = parsed({
      ...base,
      messageType: 'PARTIAL',
      trigger: 'LOCAL_DEPLOYMENT',
      components: [{ componentName: 'B', version: '1.0.0', isRoot: true, status: 'RUNNING' }],
      deploymentInformation: { status: 'SUCCEEDED', deploymentId: 'local-1', unchangedRootComponents: ['A'] },
    });
    const next = applyFleetStatus({ installed }, m, componentsUpdateOf(m), 5);
    assert.deepEqual(
      next.installed.map((c) => [c.componentName, c.lastInstallationSource, c.lastStatusChangeAt]),
      [
        ['A', 'LOCAL', 1],
        ['B', 'LOCAL', 5],
      ],
    );
  });

  it('a failed deployment leaves the installation source alone', () => {
    const m = parsed({
      ...base,
      trigger: 'THING_GROUP_DEPLOYMENT',
      components: [{ componentName: 'B', version: '1.0.0', isRoot: true, status: 'BROKEN' }],
      deploymentInformation: { status: 'FAILED', deploymentId: 'd-2' },
    });
    const next = applyFleetStatus({ installed: [] }, m, componentsUpdateOf(m), 5);
    assert.equal(next.installed[0].lastInstallationSource, undefined);
  });
});
