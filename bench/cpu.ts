import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Kernel clock ticks per second, the unit of /proc CPU times. */
const ticksPerSecond = ((): number => {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** One line of /proc/<pid>/stat, reduced to what CPU accounting needs. */
interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime + cutime + cstime, in ticks. */
  readonly ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // exited between listing and reading
  }
  // The command name (field 2) may hold spaces and parentheses, so fields
  // are counted from the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const num = (i: number): number => Number(fields[i] ?? 0);
  // fields[0] is field 3 (state): ppid is field 4, utime..cstime 14..17.
  return { pid, ppid: num(1), ticks: num(11) + num(12) + num(13) + num(14) };
}

/** Every process' stat, read once, with each parent's children. */
interface ProcessTable {
  readonly byPid: ReadonlyMap<number, ProcStat>;
  readonly children: ReadonlyMap<number, readonly ProcStat[]>;
}

function readProcessTable(): ProcessTable {
  const byPid = new Map<number, ProcStat>();
  const children = new Map<number, ProcStat[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat === undefined) continue;
    byPid.set(stat.pid, stat);
    const list = children.get(stat.ppid);
    if (list === undefined) children.set(stat.ppid, [stat]);
    else list.push(stat);
  }
  return { byPid, children };
}

/**
 * CPU seconds used so far by some processes and all their descendants.
 * Children's times are included both while they live (their own
 * utime+stime) and after they are reaped (the parent's cutime+cstime), so
 * a delta between two readings stays right when a worker exits in between.
 * Summing the tree is what makes a multi-process Larder (node:cluster
 * workers) comparable; summing several roots is what makes a Redis Cluster
 * (one redis-server per node) comparable with one redis-server.
 */
function treeCpuSeconds(table: ProcessTable, rootPids: readonly number[]): number {
  let ticks = 0;
  const seen = new Set<number>();
  const stack = rootPids.flatMap((pid) => table.byPid.get(pid) ?? []);
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    // A root listed twice, or inside another root's tree, counts once.
    if (seen.has(next.pid)) continue;
    seen.add(next.pid);
    ticks += next.ticks;
    stack.push(...(table.children.get(next.pid) ?? []));
  }
  return ticks / ticksPerSecond;
}

/** Busy CPU seconds of the whole machine (all cores) so far, from /proc/stat. */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  // cpu user nice system idle iowait irq softirq steal ...; guest time is
  // already inside user, so it is not added again.
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / ticksPerSecond;
}

/** A reading of every process a run accounts for, plus the machine total. */
export interface CpuReading {
  readonly wall: number;
  /** CPU seconds per accounted process tree, by role. */
  readonly byRole: Readonly<Record<string, number>>;
  readonly machine: number;
}

/**
 * Reads the CPU seconds of each role's process trees (e.g. server, redis,
 * loadgen); a role with no pid yet is left out.
 */
export function readCpu(pids: Readonly<Record<string, readonly number[]>>): CpuReading {
  const table = readProcessTable();
  const byRole: Record<string, number> = {};
  for (const [role, roots] of Object.entries(pids)) {
    if (roots.length > 0) byRole[role] = treeCpuSeconds(table, roots);
  }
  return { wall: performance.now() / 1000, byRole, machine: machineBusySeconds() };
}

/** CPU used between two readings: seconds per role, plus wall time and the machine's busy time. */
export interface CpuDelta {
  readonly wallSeconds: number;
  readonly byRole: Readonly<Record<string, number>>;
  /** Busy seconds of processes outside the roles: other work on the machine. */
  readonly otherSeconds: number;
}

/** The difference of two {@link readCpu} readings. */
export function cpuDelta(before: CpuReading, after: CpuReading): CpuDelta {
  const byRole: Record<string, number> = {};
  let ours = 0;
  for (const [role, end] of Object.entries(after.byRole)) {
    const used = Math.max(0, end - (before.byRole[role] ?? end));
    byRole[role] = used;
    ours += used;
  }
  return {
    wallSeconds: after.wall - before.wall,
    byRole,
    otherSeconds: Math.max(0, after.machine - before.machine - ours),
  };
}

/**
 * The kernel's /proc/loadavg line: 1, 5 and 15 minute load averages, then
 * runnable/total scheduling entities and the last pid; undefined where
 * there is no /proc.
 */
export function procLoadavg(): string | undefined {
  try {
    return readFileSync("/proc/loadavg", "utf8").trim();
  } catch {
    return undefined;
  }
}
