import { parseArgs } from "node:util";

/** What `npm run bench -- <flags>` asked for. */
export interface BenchOptions {
  /** A few seconds in total: a smoke test that the harness works, not a measurement. */
  readonly quick: boolean;
  /** Only cases whose id matches, e.g. `get-many` or `larder-memory/get-hit`. */
  readonly only: RegExp | undefined;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  /** Extra arguments after `larder serve`, e.g. `--workers 2` once it exists. */
  readonly larderArgs: readonly string[];
  /** Extra Node.js flags for Larder processes, e.g. `--cpu-prof`. */
  readonly larderNodeArgs: readonly string[];
  /** Extra environment for Larder processes, e.g. `LARDER_LOG_LEVEL=error`. */
  readonly larderEnv: Readonly<Record<string, string>>;
  /** Where the report files go. */
  readonly outDir: string;
  /** The report files' base name: `<name>.md`, `.json`, `.svg`. */
  readonly name: string;
}

/** The usage text of `npm run bench -- --help`. */
export const usage = `npm run bench [-- options]

Starts redis-server, a Redis Cluster (3 masters), Larder (memory, Redis and
Redis Cluster stores) and the baselines as separate processes, drives them
with h2load and a Node load generator, and writes a Markdown report (the
targets first), JSON and an SVG chart.

  --quick              smoke test: a few seconds, one workload, no Redis (writes <out>/quick.*)
  --only <regex>       run only the cases whose id matches (ids are printed as they run)
  --duration <s>       measured seconds per case (default 2.5; --quick 1)
  --warmup <s>         warm-up seconds per case, not measured (default 1; --quick 0.5)
  --larder-args="<a>"  extra arguments for \`larder serve\`, e.g. --larder-args="--workers 2"
  --larder-node-args="<a>"  extra node flags for Larder, e.g. --larder-node-args="--cpu-prof --cpu-prof-dir=/tmp/p"
  --larder-env K=V     extra environment for Larder (repeatable)
  --out <dir>          where to write the report (default bench/results)
  --name <base>        report file name without extension (default latest; --quick: quick)
  --help               this text`;

/**
 * Parses the command line. Throws with a one-line reason on a bad flag, so
 * that a typo never silently runs the full six-minute matrix.
 */
export function parseOptions(argv: readonly string[]): BenchOptions | "help" {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      "larder-args": { type: "string", default: "" },
      "larder-node-args": { type: "string", default: "" },
      "larder-env": { type: "string", multiple: true, default: [] },
      out: { type: "string", default: "bench/results" },
      name: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return "help";
  const seconds = (flag: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flag} must be a positive number of seconds, got ${JSON.stringify(text)}`);
    return n;
  };
  const larderEnv: Record<string, string> = {};
  for (const pair of values["larder-env"]) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new Error(`--larder-env takes KEY=VALUE, got ${JSON.stringify(pair)}`);
    larderEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const quick = values.quick;
  return {
    quick,
    only: values.only === undefined ? undefined : new RegExp(values.only),
    warmupSeconds: seconds("warmup", values.warmup, quick ? 0.5 : 1),
    durationSeconds: seconds("duration", values.duration, quick ? 1 : 2.5),
    larderArgs: values["larder-args"].split(/\s+/).filter((a) => a !== ""),
    larderNodeArgs: values["larder-node-args"].split(/\s+/).filter((a) => a !== ""),
    larderEnv,
    outDir: values.out,
    name: values.name ?? (quick ? "quick" : "latest"),
  };
}
