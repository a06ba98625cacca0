#!/usr/bin/env node
// The `larder` command: serve, and a few client commands for people at a terminal.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const cli = new URL("../dist/app/cli.js", import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write("larder: not built yet; run `npm run build` (npm start does it for you)\n");
  process.exit(1);
}
await import(cli.href);
