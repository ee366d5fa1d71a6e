// Rules for a CreateDeployment request that the service model cannot express. Pure: input in, violations out.
import semver from 'semver';
import type { FieldViolation } from './errors.js';
import { parseIotArn } from './arn.js';

type Obj = Record<string, any>;

const fail = (name: string, value: unknown, rule: string): FieldViolation => ({
  name,
  message: `Value ${JSON.stringify(value)?.slice(0, 200)} at '${name}' failed to satisfy constraint: ${rule}`,
});

/** A JSON Pointer (RFC 6901): empty, or '/'-separated tokens where '~' is only ever '~0' or '~1'. */
export function isJsonPointer(p: string): boolean {
  return p === '' || (p.startsWith('/') && !/~(?![01])/.test(p));
}

/** At most `places` digits after the decimal point. */
const hasAtMostDecimals = (n: number, places: number) => Math.abs(Math.round(n * 10 ** places) - n * 10 ** places) < 1e-9;

export function checkCreateDeployment(input: Obj): FieldViolation[] {
  const out: FieldViolation[] = [];
  const target = parseIotArn(input.targetArn);
  if (input.parentTargetArn !== undefined && target?.kind === 'thing') {
    out.push(fail('targetArn', input.targetArn, 'Member must be a thing group ARN when parentTargetArn is given (a subdeployment targets a thing group)'));
  }

  for (const [name, spec] of Object.entries((input.components ?? {}) as Obj)) {
    const at = `components[${name}]`;
    if (typeof spec?.componentVersion === 'string' && !semver.valid(spec.componentVersion)) {
      out.push(fail(`${at}.componentVersion`, spec.componentVersion, 'Member must be a semantic version (MAJOR.MINOR.PATCH)'));
    }
    const update = spec?.configurationUpdate;
    if (typeof update?.merge === 'string') {
      let merge: unknown;
      try {
        merge = JSON.parse(update.merge);
      } catch (e) {
        out.push(fail(`${at}.configurationUpdate.merge`, update.merge, `Member must be a JSON object serialized as a string (${(e as Error).message})`));
      }
      if (merge !== undefined && (typeof merge !== 'object' || merge === null || Array.isArray(merge))) {
        out.push(fail(`${at}.configurationUpdate.merge`, update.merge, 'Member must be a JSON object serialized as a string'));
      }
    }
    (Array.isArray(update?.reset) ? update.reset : []).forEach((p: unknown, i: number) => {
      if (typeof p === 'string' && !isJsonPointer(p)) {
        out.push(fail(`${at}.configurationUpdate.reset[${i}]`, p, "Member must be a JSON pointer: '' or a path starting with '/', with '~' only in '~0' or '~1'"));
      }
    });
    const user = spec?.runWith?.posixUser;
    if (typeof user === 'string' && !/^[^:\s]+(:[^:\s]+)?$/.test(user)) {
      out.push(fail(`${at}.runWith.posixUser`, user, "Member must be 'user' or 'user:group'"));
    }
  }

  const policies = input.deploymentPolicies as Obj | undefined;
  for (const key of ['componentUpdatePolicy', 'configurationValidationPolicy'] as const) {
    const t = policies?.[key]?.timeoutInSeconds;
    if (typeof t === 'number' && t < 0) {
      out.push(fail(`deploymentPolicies.${key}.timeoutInSeconds`, t, 'Member must have value greater than or equal to 0'));
    }
  }

  const job = input.iotJobConfiguration as Obj | undefined;
  const rate = job?.jobExecutionsRolloutConfig?.exponentialRate;
  if (rate) {
    const at = 'iotJobConfiguration.jobExecutionsRolloutConfig.exponentialRate';
    const criteria = rate.rateIncreaseCriteria;
    if (criteria && typeof criteria === 'object') {
      const given = ['numberOfNotifiedThings', 'numberOfSucceededThings'].filter((k) => criteria[k] !== undefined);
      if (given.length !== 1) {
        out.push(
          fail(`${at}.rateIncreaseCriteria`, criteria, 'Member must set exactly one of numberOfNotifiedThings and numberOfSucceededThings'),
        );
      }
    }
    const f = rate.incrementFactor;
    if (typeof f === 'number' && (f < 1.1 || !hasAtMostDecimals(f, 1))) {
      out.push(fail(`${at}.incrementFactor`, f, 'Member must be between 1.1 and 5 with at most one digit after the decimal point'));
    }
  }
  const criteriaList = job?.abortConfig?.criteriaList;
  (Array.isArray(criteriaList) ? criteriaList : []).forEach((c: Obj, i: number) => {
    const t = c?.thresholdPercentage;
    if (typeof t === 'number' && (t <= 0 || !hasAtMostDecimals(t, 2))) {
      out.push(
        fail(
          `iotJobConfiguration.abortConfig.criteriaList[${i}].thresholdPercentage`,
          t,
          'Member must be greater than 0 and at most 100, with at most two digits after the decimal point',
        ),
      );
    }
  });
  return out;
}
