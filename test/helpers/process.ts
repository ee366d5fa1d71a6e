// Runs `meadow serve` as a separate process, as an operator would, and reports the endpoint it listens on.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/meadow.js', import.meta.url));

export interface MeadowProcess {
  endpoint: string;
  /** The port of its MQTT broker. */
  mqttPort: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export function spawnMeadow(env: Record<string, string>): Promise<MeadowProcess> {
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: { PATH: process.env.PATH, MEADOW_PORT: '0', MEADOW_MQTT_PORT: '0', MEADOW_DATA_PLANE_PORT: '0', MEADOW_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /meadow listening on (http:\/\/[^\s]+)/.exec(output);
      const mqtt = /meadow MQTT broker .* on \S+:(\d+)\n/.exec(output);
      if (m && mqtt) {
        child.stdout!.off('data', onData);
        resolve({
          endpoint: m[1],
          mqttPort: Number(mqtt[1]),
          child,
          stop: async () => {
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    // MEADOW_TEST_SERVER_LOGS=1 shows the spawned servers' logs (warnings and errors), to debug a failing test.
    if (process.env.MEADOW_TEST_SERVER_LOGS) child.stdout!.on('data', (c: Buffer) => process.stderr.write(c));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => reject(new Error(`meadow exited with ${code} before listening:\n${output}`)));
  });
}
