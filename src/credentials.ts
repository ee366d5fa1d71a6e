// The access key meadow accepts: from MEADOW_ACCESS_KEY_ID/MEADOW_SECRET_ACCESS_KEY, or generated on first
// start and kept in the data directory so it survives restarts.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  source: 'environment' | 'generated' | 'data-dir';
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function generate(): { accessKeyId: string; secretAccessKey: string } {
  const id = [...randomBytes(16)].map((b) => ALNUM[b % 32]).join('');
  return { accessKeyId: `AKIA${id}`, secretAccessKey: randomBytes(30).toString('base64').replace(/[+/]/g, 'x') };
}

const credentialsFile = (dataDir: string) => join(dataDir, 'credentials.json');

/** The key generated earlier in this data directory, if any (what a client on the same host can sign with). */
export function readStoredCredentials(dataDir: string): Credentials | undefined {
  const file = credentialsFile(dataDir);
  if (!existsSync(file)) return undefined;
  const c = JSON.parse(readFileSync(file, 'utf8'));
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, source: 'data-dir' };
}

export function loadCredentials(config: Config): Credentials {
  if (config.accessKeyId && config.secretAccessKey) {
    return { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey, source: 'environment' };
  }
  const stored = readStoredCredentials(config.dataDir);
  if (stored) return stored;
  const file = credentialsFile(config.dataDir);
  mkdirSync(config.dataDir, { recursive: true });
  const c = generate();
  writeFileSync(file, JSON.stringify(c, null, 2) + '\n', { mode: 0o600 });
  return { ...c, source: 'generated' };
}

/** What to tell a person about a generated key: an AWS CLI profile and a first command to try. */
export function credentialsHelp(c: Credentials, config: Config, endpoint: string): string {
  return [
    c.source === 'generated' ? 'meadow generated an access key for this data directory.' : 'meadow is using the access key stored in its data directory.',
    `Add this profile to ~/.aws/credentials (or export the AWS_* variables):`,
    '',
    '  [meadow]',
    `  aws_access_key_id = ${c.accessKeyId}`,
    `  aws_secret_access_key = ${c.secretAccessKey}`,
    `  region = ${config.region}`,
    '',
    'Then try:',
    `  aws greengrassv2 list-deployments --profile meadow --endpoint-url ${endpoint}`,
    `  aws iot list-things --profile meadow --endpoint-url ${endpoint}`,
    '',
  ].join('\n');
}
