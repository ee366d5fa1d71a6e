// Process configuration from the environment (MEADOW_*), with the embedded defaults.
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl?: string;
  region: string;
  accountId: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Requests per second per access key; 0 = unlimited. */
  apiRateLimit: number;
  logLevel: string;
  /**
   * Garbage is collected once the JS heap has grown this many percent past what survived the last full collection
   * (0: V8's own choice, which lets a busy heap grow up to 4x). Keeps a server with many devices small under load.
   */
  heapGrowthPercent: number;
  /** An external S3-compatible store for artifacts (path-style); unset = on disk under <dataDir>/artifacts. */
  s3Endpoint?: string;
  s3AccessKeyId?: string;
  s3SecretAccessKey?: string;
  s3Region: string;
  /** An operator-supplied certificate authority (PEM files); unset = meadow's own, kept in the database. */
  caCertFile?: string;
  caKeyFile?: string;
  /** Ports devices reach the MQTT broker (TLS) and the HTTPS data plane at. */
  mqttPort: number;
  dataPlanePort: number;
  /**
   * Scale-out mode: device MQTT traffic goes through this external broker (mqtt://, mqtts://), which authenticates
   * devices and enforces their topics; meadow connects to it as a service client and starts no broker of its own.
   */
  mqttUrl?: string;
  mqttUsername?: string;
  mqttPassword?: string;
  /** PEM files for a TLS connection to the external broker: the root to trust, and a client certificate and key. */
  mqttCaFile?: string;
  mqttCertFile?: string;
  mqttKeyFile?: string;
  /** Where meadow takes device requests from: `$aws/things/` (default), or the prefix a broker bridge republishes them under. */
  mqttRequestRoot?: string;
}

function int(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got '${value}'`);
  return n;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const accountId = env.MEADOW_ACCOUNT_ID || '123456789012';
  if (!/^[0-9]{12}$/.test(accountId)) throw new Error(`MEADOW_ACCOUNT_ID must be 12 digits, got '${accountId}'`);
  const region = env.MEADOW_REGION || 'us-east-1';
  if (!/^[a-z0-9-]+$/.test(region)) throw new Error(`MEADOW_REGION must look like us-east-1, got '${region}'`);
  const accessKeyId = env.MEADOW_ACCESS_KEY_ID || undefined;
  const secretAccessKey = env.MEADOW_SECRET_ACCESS_KEY || undefined;
  if (!!accessKeyId !== !!secretAccessKey) throw new Error('Set both MEADOW_ACCESS_KEY_ID and MEADOW_SECRET_ACCESS_KEY, or neither');
  const s3Endpoint = env.MEADOW_S3_ENDPOINT || undefined;
  if (s3Endpoint !== undefined && !/^https?:\/\/[^/]+/.test(s3Endpoint)) throw new Error(`MEADOW_S3_ENDPOINT must be an http:// or https:// URL, got '${s3Endpoint}'`);
  const s3AccessKeyId = env.MEADOW_S3_ACCESS_KEY_ID || undefined;
  const s3SecretAccessKey = env.MEADOW_S3_SECRET_ACCESS_KEY || undefined;
  if (!!s3AccessKeyId !== !!s3SecretAccessKey) throw new Error('Set both MEADOW_S3_ACCESS_KEY_ID and MEADOW_S3_SECRET_ACCESS_KEY, or neither');
  const caCertFile = env.MEADOW_CA_CERT_FILE || undefined;
  const caKeyFile = env.MEADOW_CA_KEY_FILE || undefined;
  if (!!caCertFile !== !!caKeyFile) throw new Error('Set both MEADOW_CA_CERT_FILE and MEADOW_CA_KEY_FILE, or neither');
  const mqttUrl = env.MEADOW_MQTT_URL || undefined;
  if (mqttUrl !== undefined && !/^mqtts?:\/\/[^/]+/.test(mqttUrl)) throw new Error(`MEADOW_MQTT_URL must be an mqtt:// or mqtts:// URL, got '${mqttUrl}'`);
  const mqttCertFile = env.MEADOW_MQTT_CERT_FILE || undefined;
  const mqttKeyFile = env.MEADOW_MQTT_KEY_FILE || undefined;
  if (!!mqttCertFile !== !!mqttKeyFile) throw new Error('Set both MEADOW_MQTT_CERT_FILE and MEADOW_MQTT_KEY_FILE, or neither');
  const mqttRequestRoot = env.MEADOW_MQTT_REQUEST_ROOT || undefined;
  if (mqttRequestRoot !== undefined && (!mqttRequestRoot.endsWith('/') || /[+#]/.test(mqttRequestRoot))) {
    throw new Error(`MEADOW_MQTT_REQUEST_ROOT must be a topic prefix ending in '/' without wildcards, got '${mqttRequestRoot}'`);
  }
  return {
    host: env.MEADOW_HOST || '127.0.0.1',
    port: int('MEADOW_PORT', env.MEADOW_PORT, 8080, 0, 65535),
    dataDir: env.MEADOW_DATA_DIR || './data',
    databaseUrl: env.MEADOW_DATABASE_URL || undefined,
    region,
    accountId,
    accessKeyId,
    secretAccessKey,
    apiRateLimit: int('MEADOW_API_RATE_LIMIT', env.MEADOW_API_RATE_LIMIT, 0, 0, 1_000_000),
    logLevel: env.MEADOW_LOG_LEVEL || 'info',
    heapGrowthPercent: int('MEADOW_HEAP_GROWTH_PERCENT', env.MEADOW_HEAP_GROWTH_PERCENT, 20, 0, 1000),
    s3Endpoint,
    s3AccessKeyId,
    s3SecretAccessKey,
    s3Region: env.MEADOW_S3_REGION || region,
    caCertFile,
    caKeyFile,
    mqttPort: int('MEADOW_MQTT_PORT', env.MEADOW_MQTT_PORT, 8883, 0, 65535),
    dataPlanePort: int('MEADOW_DATA_PLANE_PORT', env.MEADOW_DATA_PLANE_PORT, 8443, 0, 65535),
    mqttUrl,
    mqttUsername: env.MEADOW_MQTT_USERNAME || undefined,
    mqttPassword: env.MEADOW_MQTT_PASSWORD || undefined,
    mqttCaFile: env.MEADOW_MQTT_CA_FILE || undefined,
    mqttCertFile,
    mqttKeyFile,
    mqttRequestRoot,
  };
}
