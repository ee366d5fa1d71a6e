// A step's Skipif (semantics §6.1): `exists <path>` or `onpath <executable>`, optionally negated with `!`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SKIPIF = /^(exists|onpath) +(.+)$/;

/** True when the step is to be skipped; throws on an expression the recipe validator would have refused. */
export function shouldSkip(expression: string, searchPath: string | undefined): boolean {
  let expr = expression.trim();
  const negate = expr.startsWith('!');
  if (negate) expr = expr.slice(1).trim();
  const match = SKIPIF.exec(expr);
  if (!match) throw new Error(`Skipif must be 'exists <path>' or 'onpath <executable>', got '${expression}'`);
  const [, operator, operand] = match;
  const holds = operator === 'exists' ? fs.existsSync(expandHome(operand.trim())) : onPath(operand.trim(), searchPath);
  return holds !== negate;
}

const expandHome = (p: string) => (p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p);

/** Like `which`: an executable file of that name in one of the PATH directories (or the path itself, if it has a /). */
function onPath(executable: string, searchPath: string | undefined): boolean {
  const candidates = executable.includes('/')
    ? [executable]
    : (searchPath ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, executable));
  return candidates.some((file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  });
}
