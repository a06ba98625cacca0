import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { spawnLarder, stopLarder, untilListening } from "../harness/larder-cli.js";
import { makeTempDir, removeTempDir } from "../harness/redis-process.js";
import { freePort } from "../harness/redis-server.js";

const run = promisify(execFile);
const repo = process.cwd();

/**
 * The server as users install it: `npm pack` of the repository (built by
 * `npm test` before the suites), installed globally into a prefix outside
 * the repository, then `larder serve` from that prefix with nothing else
 * around it.
 */
describe("the npm package", () => {
  let dir: string;
  let files: string[];
  let tarball: string;
  beforeAll(async () => {
    dir = makeTempDir("larder-pack");
    // --ignore-scripts: prepack would build again, under the feet of the
    // suites running beside this one; dist/ is fresh from npm test's build.
    const packed = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: repo });
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    if (info === undefined) throw new Error(`npm pack printed nothing: ${packed.stderr}`);
    tarball = join(dir, info.filename);
    files = info.files.map((f) => f.path);
  }, 120_000);
  afterAll(() => removeTempDir(dir));

  it("holds the built server and its command, and no tests, sources or SDKs", () => {
    expect(files).toContain("dist/app/cli.js");
    expect(files).toContain("dist/index.js");
    expect(files).toContain("dist/dashboard/index.html");
    expect(files).toContain("bin/larder.js");
    expect(files).toContain("package.json");
    const stray = files.filter(
      (f) => !(f.startsWith("dist/") || f === "bin/larder.js" || f === "package.json" || f === "README.md") || /\.(ts|map)$|test/.test(f),
    );
    expect(stray).toEqual([]);
  });

  describe("installed with npm install -g --prefix, outside the repository", () => {
    let prefix: string;
    let proc: ChildProcess | undefined;
    let port: number;
    beforeAll(async () => {
      prefix = join(dir, "prefix");
      await run("npm", ["install", "-g", tarball, "--prefix", prefix, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], {
        cwd: dir,
      });
      port = await freePort();
      // Only what a user's shell would have: no LARDER_* or REDIS_URL of the test run.
      const env: NodeJS.ProcessEnv = { PATH: process.env["PATH"], HOME: dir, LARDER_PORT: String(port), LARDER_HOST: "127.0.0.1" };
      const cli = spawnLarder(join(prefix, "bin", "larder"), ["serve"], { cwd: dir, env });
      proc = cli.proc;
      await untilListening(cli);
    }, 180_000);
    afterAll(async () => {
      if (proc !== undefined && proc.exitCode === null) {
        await stopLarder(proc);
      }
    });

    it("serves /healthz and a curl Set and Get on the memory store", async () => {
      const url = `http://127.0.0.1:${port}`;
      expect((await run("curl", ["-s", `${url}/healthz`])).stdout).toBe("ok\n");
      const post = (method: string, body: string): Promise<{ stdout: string }> =>
        run("curl", ["-s", "-H", "content-type: application/json", "-d", body, `${url}/larder.v1.CacheService/${method}`]);
      expect(JSON.parse((await post("Set", '{"key":"greeting","value":{"json":"\\"Hello!\\""},"ttlMs":"60000"}')).stdout)).toMatchObject({
        applied: true,
        created: true,
      });
      expect(JSON.parse((await post("Get", '{"key":"greeting"}')).stdout)).toMatchObject({ found: true, value: { json: '"Hello!"' } });
      const dashboard = await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", `${url}/dashboard/`]);
      expect(dashboard.stdout).toBe("200");
    });
  });
});
