/**
 * What a drill is: a promise Larder makes under failure, a way to break
 * things and measure, and the figures that say whether the promise held.
 */

/** How long a drill runs: the short version in `npm test`, the full one in `npm run drills`. */
export type DrillMode = "quick" | "full";

/** What a drill may use while it runs. */
export interface DrillContext {
  readonly mode: DrillMode;
  /** The repository root, where bin/larder.js is. */
  readonly root: string;
  /** A temporary folder of the drill's own, removed after the run. */
  readonly workDir: string;
  /** Prints one progress line. */
  log(line: string): void;
}

/** The outcome of one drill. */
export interface DrillResult {
  /** Whether every promise held. */
  readonly held: boolean;
  /** The figures the report shows, in order. */
  readonly figures: Readonly<Record<string, string | number>>;
  /** Why a promise did not hold, with the evidence; empty when it held. */
  readonly failures: readonly string[];
}

/** One drill. */
export interface Drill {
  /** A short id for `--only`, e.g. "redis-restart". */
  readonly id: string;
  /** What Larder promises, as the report states it. */
  readonly promise: string;
  run(ctx: DrillContext): Promise<DrillResult>;
}

/** Collects the failures of a drill's promises as it checks them. */
export class Promises {
  private readonly failed: string[] = [];

  /** Records `why` unless `ok`. */
  expect(ok: boolean, why: string): void {
    if (!ok) this.failed.push(why);
  }

  /** The result with these figures. */
  result(figures: Record<string, string | number>): DrillResult {
    return { held: this.failed.length === 0, figures, failures: [...this.failed] };
  }
}
