#!/usr/bin/env node
// Runs the plugin, compiling its TypeScript first when dist/ is missing or
// older than src/. buf.gen.yaml points here, so `buf generate` (and thus
// `npm run generate` and scripts/check-generated.sh) works on a fresh clone
// without a separate build step.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const entry = new URL("../dist/index.js", import.meta.url);

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const built = existsSync(fileURLToPath(entry)) ? statSync(fileURLToPath(entry)).mtimeMs : 0;
if (built < newestMtime(`${root}/src`)) {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  // stdout carries the plugin protocol, so the compiler may only talk on stderr.
  const res = spawnSync(process.execPath, [tsc, "-p", `${root}/tsconfig.json`], { stdio: ["ignore", 2, 2] });
  if (res.status !== 0) {
    process.stderr.write("protoc-gen-connect-csharp: compiling the plugin failed\n");
    process.exit(1);
  }
}
await import(entry.href);
