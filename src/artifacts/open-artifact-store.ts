// Opens the artifact store the configuration asks for: an external S3-compatible store when
// MEADOW_S3_ENDPOINT is set, otherwise the local disk under <MEADOW_DATA_DIR>/artifacts.
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { ArtifactStore } from './artifact-store.js';
import { LocalArtifactStore } from './local-store.js';

export async function openArtifactStore(config: Config): Promise<ArtifactStore> {
  if (config.s3Endpoint) {
    // Loaded only when used: the S3 client costs ~20 MiB of memory in a server that keeps artifacts on disk.
    const { S3ArtifactStore } = await import('./s3-store.js');
    return new S3ArtifactStore({
      endpoint: config.s3Endpoint,
      region: config.s3Region,
      credentials: config.s3AccessKeyId && config.s3SecretAccessKey ? { accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey } : undefined,
      spoolDir: join(config.dataDir, 'artifacts-spool'),
    });
  }
  return LocalArtifactStore.open(join(config.dataDir, 'artifacts'));
}
