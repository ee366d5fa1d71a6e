// Fitting the device document into what carries it (semantics §1.4, §8.1): a group's IoT job document or a thing's
// deployment shadow. A document too large for that goes out in the LARGE_CONFIGURATION form — every component's name
// and version, nothing else — and the device downloads the full one with GetDeploymentConfiguration, checking it
// against the SHA-256 digest given here. Pure: no I/O.
import { createHash } from 'node:crypto';
import type { Scope } from '../../store/store.js';
import { parseIotArn } from '../arn.js';
import { invalidFields } from '../errors.js';
import {
  buildConfiguration,
  documentWith,
  type DeploymentSource,
  type DeviceComponent,
  type DeviceConfiguration,
} from './configuration.js';
import {
  FULL_DOCUMENT_MAX_BYTES,
  GROUP_DOCUMENT_INLINE_MAX_BYTES,
  JOB_DOCUMENT_MAX_BYTES,
  SHADOW_STATE_MAX_BYTES,
  THING_DOCUMENT_INLINE_MAX_BYTES,
} from './defaults.js';
import { shadowDesiredState } from './shadow.js';

/** Group deployments ride IoT jobs, single-thing deployments the deployment shadow. */
export type DeliveryChannel = 'job' | 'shadow';

export interface IntegrityCheck {
  algorithm: 'SHA-256';
  /** Base64 of the SHA-256 of the full document's UTF-8 bytes. */
  digest: string;
}

export interface DeviceDelivery {
  channel: DeliveryChannel;
  /** What goes out: the job document, or the shadow's `fleetConfig`. */
  document: DeviceConfiguration;
  /** `document` serialized: the exact text to send. */
  documentJson: string;
  /** True when `document` is the LARGE_CONFIGURATION form. */
  truncated: boolean;
  /** What GetDeploymentConfiguration serves; when not truncated, the same as what goes out. */
  full: { document: DeviceConfiguration; json: string; integrityCheck: IntegrityCheck };
}

export function channelOf(targetArn: string): DeliveryChannel {
  return parseIotArn(targetArn)?.kind === 'thing' ? 'shadow' : 'job';
}

/**
 * Bytes the document takes in its carrier. A shadow holds it as a JSON string, whose escaping (every `"` becomes
 * `\"`) can make it much longer than the document; measuring the escaped form keeps the whole desired state within
 * the shadow's 8 KB.
 */
export function carriedBytes(channel: DeliveryChannel, documentJson: string): number {
  return Buffer.byteLength(channel === 'shadow' ? JSON.stringify(documentJson) : documentJson, 'utf8');
}

/** Largest document that goes out whole; one byte more and it goes out in the LARGE_CONFIGURATION form. */
export const inlineMaxBytes = (channel: DeliveryChannel) =>
  channel === 'shadow' ? THING_DOCUMENT_INLINE_MAX_BYTES : GROUP_DOCUMENT_INLINE_MAX_BYTES;

/**
 * The document to send for a deployment, truncated if it must be, and the full one. Throws a validation error on
 * `components` when even the truncated form cannot be carried, or the full one is more than a device accepts.
 */
export function prepareDelivery(d: DeploymentSource, scope: Scope): DeviceDelivery {
  const channel = channelOf(d.targetArn);
  const complete = buildConfiguration(d, scope);
  const completeJson = JSON.stringify(complete);
  if (carriedBytes(channel, completeJson) <= inlineMaxBytes(channel)) {
    return { channel, document: complete, documentJson: completeJson, truncated: false, full: fullOf(complete, completeJson) };
  }

  // Both forms say LARGE_CONFIGURATION, so they differ only in their components.
  const capabilities = [...(complete.requiredCapabilities ?? []), 'LARGE_CONFIGURATION' as const];
  const full = documentWith(complete, { components: complete.components, capabilities });
  const fullJson = JSON.stringify(full);
  const fullBytes = Buffer.byteLength(fullJson, 'utf8');
  if (fullBytes > FULL_DOCUMENT_MAX_BYTES) {
    throw tooLarge(`make a device document of ${fullBytes} bytes; devices accept at most ${FULL_DOCUMENT_MAX_BYTES} bytes`);
  }
  // The device resolves dependencies before it downloads the full document, so names and versions must all be here.
  const truncated = documentWith(complete, { components: namesAndVersions(complete.components), capabilities });
  const truncatedJson = JSON.stringify(truncated);
  checkCarrierLimit(channel, truncatedJson);
  return { channel, document: truncated, documentJson: truncatedJson, truncated: true, full: fullOf(full, fullJson) };
}

export function integrityCheckOf(json: string): IntegrityCheck {
  return { algorithm: 'SHA-256', digest: createHash('sha256').update(json, 'utf8').digest('base64') };
}

const fullOf = (document: DeviceConfiguration, json: string) => ({ document, json, integrityCheck: integrityCheckOf(json) });

function namesAndVersions(components: Record<string, DeviceComponent>): Record<string, DeviceComponent> {
  return Object.fromEntries(Object.entries(components).map(([name, c]) => [name, { version: c.version }]));
}

function checkCarrierLimit(channel: DeliveryChannel, documentJson: string): void {
  // A shadow is measured with the longer of the two statuses the cloud writes, so cancelling later still fits.
  const [bytes, limit, carrier] =
    channel === 'job'
      ? [Buffer.byteLength(documentJson, 'utf8'), JOB_DOCUMENT_MAX_BYTES, 'an IoT job document']
      : [Buffer.byteLength(JSON.stringify(shadowDesiredState(documentJson, 'CANCELED')), 'utf8'), SHADOW_STATE_MAX_BYTES, 'a shadow state'];
  if (bytes > limit) {
    throw tooLarge(`need ${bytes} bytes of ${carrier} for their names and versions alone; ${carrier} holds at most ${limit} bytes`);
  }
}

const tooLarge = (why: string) =>
  invalidFields([
    {
      name: 'components',
      message:
        `Value at 'components' failed to satisfy constraint: Member must be small enough to deliver to devices (the components ${why}). ` +
        'Deploy fewer components or smaller configuration updates.',
    },
  ]);
