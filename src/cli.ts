// The `meadow` command.
import { provision } from './devices/provision.js';
import { serve } from './main.js';

const [command = 'serve', ...args] = process.argv.slice(2);

const commands: Record<string, (args: string[]) => Promise<void>> = { serve: () => serve(), provision };

const run = commands[command];
if (!run) {
  process.stderr.write(`usage: meadow [serve | provision --thing-name NAME [--thing-group GROUP] --out DIR [--endpoint URL]]\nunknown command '${command}'\n`);
  process.exit(2);
}
run(args).catch((e) => {
  process.stderr.write(`meadow: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
