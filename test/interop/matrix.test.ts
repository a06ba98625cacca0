// Cross-language round trips: each SDK (TypeScript, C#, Python, Go) writes
// the same typed Order through a live server, and every SDK reads it back
// into its own Order type and checks it equals its own canonical copy: 16
// pairs on each store. The Go and C# helpers are built once per run.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, it } from "vitest";
import type { LarderServer } from "../../server/index.js";
import { freshNamespace, makeStore, startLarder, storeKinds } from "../harness/larder.js";
import { startRedis, type RedisServer } from "../harness/redis-server.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
// Debian's python3-grpcio lives in the system interpreter, which a pyenv
// or virtualenv python3 earlier on PATH would not see.
const python = process.env["LARDER_PYTHON"] ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

/** The TypeScript shape of the Order that the C#, Python and Go helpers define as types. */
interface Order {
  id: string;
  customer: { name: string; email: string };
  items: { sku: string; qty: number; price: number }[];
  total: number;
  paid: boolean;
  tags: string[];
}

const order: Order = {
  id: "order-7",
  customer: { name: "Ada Lovelace", email: "ada@example.com" },
  items: [{ sku: "A-1", qty: 2, price: 9.75 }],
  total: 19.5,
  paid: true,
  tags: ["vip", "ü😀"],
};

const languages = ["typescript", "csharp", "python", "go"] as const;
type Language = (typeof languages)[number];

let helperDir = "";
let goHelper = "";
let csharpHelper = "";

beforeAll(async () => {
  // Built once, side by side: `go run` or `dotnet run` would compile again
  // for every call. The C# tool is built in Release, apart from the Debug
  // build that the C# suite makes.
  helperDir = mkdtempSync(join(tmpdir(), "larder-interop-"));
  goHelper = join(helperDir, "go", "larder-interop");
  csharpHelper = join(helperDir, "csharp", "Larder.Interop.dll");
  const dotnetEnv = { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: "1", DOTNET_NOLOGO: "1" };
  await Promise.all([
    run("bash", [join(root, "sdk/go/gopath.sh"), "go", "build", "-o", goHelper, "./cmd/larder-interop"]),
    run(
      "dotnet",
      ["build", join(root, "sdk/csharp/Larder.Interop"), "-c", "Release", "-o", join(helperDir, "csharp"), "--nologo", "-clp:ErrorsOnly"],
      { env: dotnetEnv },
    ),
  ]);
}, 300_000);

afterAll(() => {
  if (helperDir !== "") rmSync(helperDir, { recursive: true, force: true });
});

/** The command line that makes one language write or check the Order. */
function command(lang: Language, action: "write" | "check", url: string, ns: string, key: string): [string, string[]] {
  switch (lang) {
    case "typescript":
      return ["node", [join(root, "test/interop/ts-cache.mjs"), action === "write" ? "set" : "expect", url, ns, key, JSON.stringify(order)]];
    case "python":
      return [python, [join(root, "sdk/python/tests/interop_cli.py"), `${action === "write" ? "set" : "expect"}-order`, url, ns, key]];
    case "csharp":
      return ["dotnet", [csharpHelper, `${action === "write" ? "set" : "expect"}-order`, url, ns, key]];
    case "go":
      return [goHelper, [`${action === "write" ? "set" : "expect"}-order`, url, ns, key]];
  }
}

async function exec(lang: Language, action: "write" | "check", url: string, ns: string, key: string): Promise<void> {
  const [file, args] = command(lang, action, url, ns, key);
  try {
    await run(file, args, { cwd: root, timeout: 30_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${lang} ${action} failed: ${e.stderr ?? ""}${e.message}`);
  }
}

const pairs = languages.flatMap((writer) => languages.map((reader) => [writer, reader] as const));

describe.each(storeKinds)("cross-language round trip [%s store]", (kind) => {
  let server: LarderServer | undefined;
  let redis: RedisServer | undefined;

  beforeAll(async () => {
    if (kind === "redis") redis = await startRedis();
    server = await startLarder(makeStore(kind, redis?.url));
  }, 30_000);

  afterAll(async () => {
    await server?.close();
    await redis?.stop();
  });

  it.each(pairs)("%s writes, %s reads the same Order", async (writer, reader) => {
    if (server === undefined) throw new Error("server not started");
    const ns = freshNamespace("interop");
    await exec(writer, "write", server.url, ns, "order");
    await exec(reader, "check", server.url, ns, "order");
  });
});
