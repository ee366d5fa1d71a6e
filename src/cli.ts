// The `meadow` command.
import { serve } from './main.js';

const [command = 'serve'] = process.argv.slice(2);

const commands: Record<string, () => Promise<void>> = { serve };

const run = commands[command];
if (!run) {
  process.stderr.write(`usage: meadow [serve]\nunknown command '${command}'\n`);
  process.exit(2);
}
run().catch((e) => {
  process.stderr.write(`meadow: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
