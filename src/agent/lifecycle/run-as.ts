// Which user a component's steps run as (semantics §5): an agent running as root uses the component's
// runWith.posixUser (`user` or `user:group`, names or ids), else the agent's default user, and runs
// RequiresPrivilege steps as root; an agent that is not root cannot switch users and runs every step as itself.
import { execFileSync } from 'node:child_process';

export interface RunAs {
  /** Undefined: the agent's own user. */
  uid?: number;
  gid?: number;
  /** For the environment (HOME, USER, LOGNAME) of a switched user. */
  home?: string;
  user?: string;
}

/** No user could be chosen: a root agent with neither runWith.posixUser nor a default user. */
export class MissingRunWithError extends Error {}

const agentIsRoot = () => process.getuid?.() === 0;

/** The user for one step. Throws MissingRunWithError, or Error for a user or group that does not exist. */
export function resolveRunAs(posixUser: string | undefined, defaultPosixUser: string | undefined, requiresPrivilege: boolean): RunAs {
  if (!agentIsRoot()) return {};
  if (requiresPrivilege) return { uid: 0, gid: 0 };
  const spec = posixUser?.trim() || defaultPosixUser?.trim();
  if (!spec) {
    throw new MissingRunWithError('the agent runs as root and neither runWith.posixUser nor a default posix user is set');
  }
  const [userPart, groupPart] = spec.split(':', 2);
  if (!userPart) throw new Error(`runWith.posixUser '${spec}' names a group without a user`);
  const user = lookupUser(userPart);
  const gid = groupPart ? lookupGroup(groupPart) : user.gid;
  return { uid: user.uid, gid, home: user.home, user: user.name };
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Through getent, so users from NSS sources other than /etc/passwd are found too. */
function getent(database: 'passwd' | 'group', key: string): string[] | undefined {
  try {
    return execFileSync('getent', [database, key], { encoding: 'utf8' }).trim().split(':');
  } catch {
    return undefined;
  }
}

function lookupUser(nameOrId: string): PasswdEntry {
  const entry = getent('passwd', nameOrId);
  if (entry) return { name: entry[0], uid: Number(entry[2]), gid: Number(entry[3]), home: entry[5] };
  // An id with no passwd entry is still usable, with itself as its group (as sudo -u '#id' allows).
  if (/^\d+$/.test(nameOrId)) return { name: nameOrId, uid: Number(nameOrId), gid: Number(nameOrId), home: '/' };
  throw new Error(`runWith.posixUser: no user '${nameOrId}' on this device`);
}

function lookupGroup(nameOrId: string): number {
  const entry = getent('group', nameOrId);
  if (entry) return Number(entry[2]);
  if (/^\d+$/.test(nameOrId)) return Number(nameOrId);
  throw new Error(`runWith.posixUser: no group '${nameOrId}' on this device`);
}
