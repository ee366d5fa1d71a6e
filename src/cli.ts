// The `meadow` command. Each command's modules load only when it runs, so `meadow agent` starts without the server.
const [command = 'serve', ...args] = process.argv.slice(2);

const commands: Record<string, (args: string[]) => Promise<void>> = {
  serve: async () => (await import('./main.js')).serve(),
  provision: async (a) => (await import('./devices/provision.js')).provision(a),
  agent: async (a) => (await import('./agent/main.js')).runAgent(a),
  simulate: async (a) => (await import('./simulator/simulate.js')).simulate(a),
};

const run = commands[command];
if (!run) {
  process.stderr.write(
    `usage: meadow [serve | provision --thing-name NAME [--thing-group GROUP] --out DIR [--endpoint URL] | agent --bundle DIR --root ROOT | simulate --devices N --group NAME ...]\nunknown command '${command}'\n`,
  );
  process.exit(2);
}
run(args).catch((e) => {
  process.stderr.write(`meadow: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
