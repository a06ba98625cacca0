import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

// The server's folders by layer: a module may import its own folder, a
// lower layer, and the generated code; nothing upward, nothing sideways.
// index.ts, the public entry, may import anything.
const layers: Readonly<Record<string, number>> = {
  core: 0,
  store: 1,
  commands: 2,
  service: 3,
  transport: 4,
  ops: 4,
  app: 5,
};

const root = resolve(import.meta.dirname, "..", "..", "server");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "gen" ? [] : sources(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** The server modules that `file` imports, as paths relative to server/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)) {
    const target = relative(root, resolve(dirname(file), m[1] as string)).replace(/\.js$/, ".ts");
    found.push(target);
  }
  return found;
}

const modules = new Map(sources(root).map((f) => [relative(root, f), importsOf(f)]));

/** The layer folder of a module ("store" for store/redis/scripts.ts). */
function folderOf(module: string): string {
  return module.split("/")[0] as string;
}

describe("server layout", () => {
  it("keeps only the public entry at the top of server/", () => {
    const top = [...modules.keys()].filter((m) => !m.includes("/"));
    expect(top).toEqual(["index.ts"]);
  });

  it("imports nothing upward or sideways between layers", () => {
    const wrong: string[] = [];
    for (const [module, imports] of modules) {
      if (module === "index.ts") continue;
      const from = folderOf(module);
      for (const target of imports) {
        const to = folderOf(target);
        if (to === "gen" || to === from) continue;
        const a = layers[from];
        const b = layers[to];
        if (a === undefined || b === undefined || b >= a) wrong.push(`${module} -> ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("keeps the store backends apart: the contract imports neither, neither imports the other", () => {
    const wrong: string[] = [];
    for (const [module, imports] of modules) {
      if (!module.startsWith("store/")) continue;
      const backend = /^store\/(memory|redis)\//.exec(module)?.[1];
      for (const target of imports) {
        const other = /^store\/(memory|redis)\//.exec(target)?.[1];
        if (other !== undefined && other !== backend) wrong.push(`${module} -> ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("has no import cycles", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (module: string, path: string[]): void => {
      if (state.get(module) === "done") return;
      if (state.get(module) === "open") {
        cycles.push([...path.slice(path.indexOf(module)), module].join(" -> "));
        return;
      }
      state.set(module, "open");
      for (const target of modules.get(module) ?? []) if (modules.has(target)) visit(target, [...path, module]);
      state.set(module, "done");
    };
    for (const module of modules.keys()) visit(module, []);
    expect(cycles).toEqual([]);
  });
});
