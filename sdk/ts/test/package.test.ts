import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { useSdkServers } from "./fixture.js";

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, "../../..");

/** One entry of `npm pack --json`. */
interface PackResult {
  filename: string;
  files: { path: string }[];
}

/** Runs npm in a directory; output is returned, a failure throws with it. */
async function npm(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("npm", args, { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_loglevel: "error" } });
  return stdout;
}

// The package as a user gets it: built, packed, installed from the tarball
// into a project outside the repository, and imported by its public names.
describe("@larder/sdk as installed from its tarball", () => {
  const { url } = useSdkServers("memory");
  let work = "";
  let packed: PackResult | undefined;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "larder-sdk-pack-"));
    await npm(repoRoot, "run", "build", "-w", "@larder/sdk");
    const [result] = JSON.parse(await npm(repoRoot, "pack", "--json", "--pack-destination", work, "-w", "@larder/sdk")) as PackResult[];
    packed = result;
    const project = join(work, "app");
    await mkdir(project);
    await npm(project, "init", "-y");
    await npm(project, "install", "--no-audit", "--no-fund", join(work, result?.filename ?? "missing.tgz"), "keyv@^6.1.0");
  }, 240_000);

  afterAll(async () => {
    if (work !== "") await rm(work, { recursive: true, force: true });
  });

  it("contains the built entries and no tests", () => {
    const paths = (packed?.files ?? []).map((f) => f.path);
    expect(paths).toContain("dist/src/index.js");
    expect(paths).toContain("dist/src/keyv.js");
    expect(paths).toContain("dist/src/keyv.d.ts");
    expect(paths.filter((p) => /(^|\/)test\/|\.test\./.test(p))).toEqual([]);
  });

  it("sets and gets through @larder/sdk and @larder/sdk/keyv from an ESM script", async () => {
    const project = join(work, "app");
    const script = join(project, "smoke.mjs");
    await writeFile(
      script,
      `import { createCache } from "@larder/sdk";
import { createKeyvStore } from "@larder/sdk/keyv";
import Keyv from "keyv";

const url = process.argv[2];
const cache = createCache({ url, namespace: "pack-test" });
await cache.set("greeting", { text: "Hello!" }, 60);
const direct = await cache.get("greeting");
await cache.close();

const keyv = new Keyv({ store: createKeyvStore({ url, namespace: "pack-test" }), namespace: "kv" });
await keyv.set("answer", 42, 60_000);
const viaKeyv = await keyv.get("answer");
await keyv.disconnect();
console.log(JSON.stringify({ direct, viaKeyv }));
`,
    );
    const { stdout } = await run(process.execPath, [script, url()], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({ direct: { text: "Hello!" }, viaKeyv: 42 });
  });
});
