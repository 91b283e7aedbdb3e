import { readdirSync, readFileSync } from 'node:fs';

/**
 * Processes found through /proc rather than held as children: a design started the way a user starts
 * it (`shipshape run` in a process of its own) is only known to the bench by its pid tree.
 */

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces): index 0 is field 3. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // gone
  }
}

export function childrenOf(parent: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    if (Number(statFields(Number(d))?.[1]) === parent) out.push(Number(d));
  }
  return out;
}

/** The process's arguments, argv[0] first; empty when it is gone. */
export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** The process's nice value (field 19 of /proc/<pid>/stat), or undefined when it is gone. */
export function nicenessOf(pid: number): number | undefined {
  const n = statFields(pid)?.[16];
  return n === undefined ? undefined : Number(n);
}

export const alive = (pid: number): boolean => statFields(pid) !== undefined;

/**
 * The first process in the tree under `root` (root included, breadth first) whose arguments satisfy
 * `matches`: the `shipshape run` behind the Node launcher that starts it.
 */
export function findInTree(root: number, matches: (args: string[]) => boolean): number | undefined {
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    if (matches(commandLine(pid))) return pid;
    queue.push(...childrenOf(pid));
  }
  return undefined;
}

/**
 * The app's processes under a supervising process, by name: each is `node … dist/workers/<name>.js`,
 * named for its entry point as the process table names it (src/processes/table.ts).
 */
export function workerProcessesOf(supervisor: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pid of childrenOf(supervisor)) {
    const entry = commandLine(pid)
      .map((a) => /[\\/]dist[\\/]workers[\\/]([\w-]+)\.js$/.exec(a)?.[1])
      .find(Boolean);
    if (entry) out[entry] = pid;
  }
  return out;
}
