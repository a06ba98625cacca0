#!/usr/bin/env node
// Builds the dashboard (dashboard/src) into dist/dashboard: one script and
// one stylesheet named by content hash, and an index.html that loads them
// from /dashboard/assets/. No inline script or style, so that the page runs
// under a strict Content-Security-Policy.
//
//   node scripts/build-dashboard.mjs [--out DIR]
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const at = process.argv.indexOf("--out");
const out = at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : join(root, "dist", "dashboard");

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });
const result = await build({
  entryPoints: [join(root, "dashboard", "src", "main.tsx")],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  jsx: "automatic",
  jsxImportSource: "preact",
  tsconfig: join(root, "dashboard", "tsconfig.json"),
  outdir: join(out, "assets"),
  entryNames: "[name]-[hash]",
  metafile: true,
  legalComments: "eof",
  logLevel: "warning",
});
const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const script = outputs.find((f) => f.endsWith(".js"));
const style = outputs.find((f) => f.endsWith(".css"));
if (script === undefined || style === undefined) throw new Error(`dashboard build: missing outputs in ${outputs.join(", ")}`);
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Larder dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/assets/${style}">
<script type="module" src="/dashboard/assets/${script}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The Larder dashboard needs JavaScript.</noscript>
</body>
</html>
`;
writeFileSync(join(out, "index.html"), html);
console.log(`dashboard: ${relative(root, out) || out}/index.html, assets/${script}, assets/${style}`);
