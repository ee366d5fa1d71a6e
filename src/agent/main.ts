// `meadow agent --bundle DIR --root ROOT`: runs the agent in this process until SIGINT/SIGTERM, logging with pino.
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Agent } from './agent.js';

const USAGE = 'usage: meadow agent --bundle DIR --root ROOT [--default-user USER[:GROUP]] [--log-level info]';

export async function runAgent(args: string[]): Promise<void> {
  let values: { bundle?: string; root?: string; 'log-level'?: string; 'default-user'?: string };
  try {
    ({ values } = parseArgs({ args, options: { bundle: { type: 'string' }, root: { type: 'string' }, 'log-level': { type: 'string' }, 'default-user': { type: 'string' } }, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${USAGE}`);
  }
  if (!values.bundle || !values.root) throw new Error(`--bundle and --root are required\n${USAGE}`);
  const logger = pino({ level: values['log-level'] ?? process.env.MEADOW_AGENT_LOG_LEVEL ?? 'info', base: { agent: true } });
  // The nucleus's runWithDefault.posixUser: what components without runWith.posixUser run as when the agent is root.
  const defaultPosixUser = values['default-user'] ?? process.env.MEADOW_AGENT_DEFAULT_USER;
  const agent = await Agent.start({ bundleDir: values.bundle, root: values.root, logger, runner: defaultPosixUser ? { defaultPosixUser } : undefined });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    agent.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
