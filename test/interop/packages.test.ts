// The C#, Python and Go SDKs as users install them, each used from a fresh
// project outside the repository against a live server (the TypeScript
// package has its own test, sdk/ts/test/package.test.ts):
//
// - C#: `dotnet pack` of Larder.Client into a local feed, then a new console
//   project that takes it with `dotnet add package` (its dependencies come
//   from nuget.org, or from the machine's NuGet cache when they are there).
// - Python: a wheel built with the system pip, installed without an index
//   into a venv that sees Debian's grpcio (`--system-site-packages`).
// - Go: `go vet` and `go build` of the SDK, then a program outside the
//   repository that imports it. In GOPATH mode over Debian's Go packages,
//   like sdk/go/gopath.sh: module mode cannot resolve google.golang.org/grpc
//   without the module proxy, which is not reachable here.
//
// Each copies its SDK to a temporary folder first, so that no build output
// lands in the repository and no build races another suite's.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryStore, type LarderServer } from "../../server/index.js";
import { createCache } from "../../sdk/ts/src/index.js";
import { freshNamespace, startLarder } from "../harness/larder.js";

const execFileAsync = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");
const python = process.env["LARDER_PYTHON"] ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

/** Runs a program; a failure throws with its output, so the cause shows in the test report. */
async function run(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  try {
    const { stdout } = await execFileAsync(file, args, { ...options, maxBuffer: 16 * 1024 * 1024, timeout: 180_000 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(" ")} failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}

/** Copies a folder without build output (bin, obj, build, __pycache__, egg-info). */
async function copySource(from: string, to: string): Promise<void> {
  await cp(from, to, {
    recursive: true,
    filter: (src) => !/[/\\](bin|obj|build|__pycache__|[^/\\]*\.egg-info)$/.test(src),
  });
}

/** What each program below writes and then reads back: a typed object. */
const greeting = { text: "hello from a package", count: 3 };

describe("SDK packages as users install them", () => {
  let server: LarderServer | undefined;
  let work = "";

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "larder-packages-"));
    server = await startLarder(createMemoryStore());
  });

  afterAll(async () => {
    await server?.close();
    if (work !== "") await rm(work, { recursive: true, force: true });
  });

  /** Checks, through the TypeScript SDK, that a program really stored the greeting on the server. */
  async function expectStored(namespace: string): Promise<void> {
    const cache = createCache({ url: server?.url ?? "", namespace });
    try {
      expect(await cache.get("greeting")).toEqual(greeting);
    } finally {
      await cache.close();
    }
  }

  it.concurrent("C#: Larder.Client from a local NuGet feed in a new console project", async () => {
    const dir = join(work, "csharp");
    const feed = join(dir, "feed");
    const app = join(dir, "app");
    const env = { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: "1", DOTNET_NOLOGO: "1", DOTNET_SKIP_FIRST_TIME_EXPERIENCE: "1" };
    await mkdir(dir, { recursive: true });
    await cp(join(root, "sdk/csharp/Directory.Build.props"), join(dir, "src/Directory.Build.props"));
    await cp(join(root, "sdk/csharp/README.md"), join(dir, "src/README.md"));
    await copySource(join(root, "sdk/csharp/Larder.Client"), join(dir, "src/Larder.Client"));
    await run("dotnet", ["pack", join(dir, "src/Larder.Client"), "-c", "Release", "-o", feed, "--nologo", "-clp:ErrorsOnly"], { env });
    expect((await readdir(feed)).filter((f) => f.endsWith(".nupkg"))).toEqual(["Larder.Client.0.1.0.nupkg"]);

    await run("dotnet", ["new", "console", "-o", app, "-n", "GreetingApp"], { env });
    // A packages folder of the app's own, so that a Larder.Client 0.1.0 from
    // an earlier run (NuGet caches by version) is never what gets tested;
    // the machine's cache serves the dependencies it already holds.
    const globalPackages = join(homedir(), ".nuget", "packages");
    await writeFile(
      join(app, "nuget.config"),
      `<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config><add key="globalPackagesFolder" value="${join(dir, "packages")}" /></config>
  <packageSources>
    <clear />
    <add key="local" value="${feed}" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  ${existsSync(globalPackages) ? `<fallbackPackageFolders><add key="machine" value="${globalPackages}" /></fallbackPackageFolders>` : ""}
</configuration>
`,
    );
    await run("dotnet", ["add", "package", "Larder.Client", "--version", "0.1.0", "--source", feed], { cwd: app, env });
    await writeFile(
      join(app, "Program.cs"),
      `using Larder.Client;

using var cache = new LarderCache(new LarderOptions { Url = args[0], Namespace = args[1] });
var applied = await cache.Set("greeting", new Greeting("${greeting.text}", ${greeting.count}), TimeSpan.FromMinutes(1));
var got = await cache.Get<Greeting>("greeting");
Console.WriteLine($"{applied} {got}");

record Greeting(string Text, int Count);
`,
    );
    const ns = freshNamespace("pkg-cs");
    const out = await run("dotnet", ["run", "--project", app, "-c", "Release", "--", server?.url ?? "", ns], { env });
    expect(out.trim()).toBe(`True Greeting { Text = ${greeting.text}, Count = ${greeting.count} }`);
    await expectStored(ns);
  }, 240_000);

  it.concurrent("Python: the larder wheel in a venv over Debian's grpcio", async () => {
    const dir = join(work, "python");
    await copySource(join(root, "sdk/python"), join(dir, "src"));
    await run(python, ["-m", "pip", "wheel", join(dir, "src"), "--no-deps", "--no-build-isolation", "-w", join(dir, "dist"), "-q"]);
    const wheels = (await readdir(join(dir, "dist"))).filter((f) => f.endsWith(".whl"));
    expect(wheels).toEqual(["larder-0.1.0-py3-none-any.whl"]);

    await run(python, ["-m", "venv", "--system-site-packages", join(dir, "venv")]);
    const venvPython = join(dir, "venv", "bin", "python");
    // No index: the dependencies (grpcio, protobuf) must be satisfied by the
    // system's, as on a machine without PyPI.
    await run(venvPython, ["-m", "pip", "install", "--no-index", "-q", join(dir, "dist", wheels[0] ?? "")]);
    const script = join(dir, "greet.py");
    await writeFile(
      script,
      `import sys
from dataclasses import asdict, dataclass

import larder


@dataclass
class Greeting:
    text: str
    count: int


with larder.Cache(url=sys.argv[1], namespace=sys.argv[2]) as cache:
    applied = cache.set("greeting", asdict(Greeting(${JSON.stringify(greeting.text)}, ${greeting.count})), ttl=60)
    got = Greeting(**cache.get("greeting"))
print(applied, got, larder.__file__)
`,
    );
    const ns = freshNamespace("pkg-py");
    // Run from the venv's folder, so that the repository's sdk/python is not importable by accident.
    const out = await run(venvPython, [script, server?.url ?? "", ns], { cwd: dir });
    const [applied, ...rest] = out.trim().split(" ");
    expect(applied).toBe("True");
    expect(rest.slice(0, -1).join(" ")).toBe(`Greeting(text='${greeting.text}', count=${greeting.count})`);
    expect(rest.at(-1)).toContain(join(dir, "venv"));
    await expectStored(ns);
  }, 240_000);

  it.concurrent("Go: the SDK vets and builds, and a program outside the repository uses it", async () => {
    const gopath = join(work, "gopath");
    const sdk = join(gopath, "src/github.com/larder/larder/sdk/go");
    const app = join(gopath, "src/example.com/greet");
    await copySource(join(root, "sdk/go"), sdk);
    const env = {
      ...process.env,
      GO111MODULE: "off",
      GOPATH: `${gopath}:/usr/share/gocode`,
      GOFLAGS: "",
      // The build cache of gopath.sh's GOPATH, when given: grpc compiles once.
      GOCACHE: process.env["LARDER_GOPATH"] === undefined ? join(gopath, "cache") : join(process.env["LARDER_GOPATH"], "cache"),
    };
    await run("go", ["vet", "./..."], { cwd: sdk, env });
    await run("go", ["build", "./..."], { cwd: sdk, env });
    await mkdir(app, { recursive: true });
    await writeFile(
      join(app, "main.go"),
      `package main

import (
	"context"
	"fmt"
	"os"
	"time"

	larder "github.com/larder/larder/sdk/go"
)

type Greeting struct {
	Text  string \`json:"text"\`
	Count int    \`json:"count"\`
}

func main() {
	c, err := larder.NewClient(os.Args[1], larder.WithNamespace(os.Args[2]))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx := context.Background()
	applied, err := c.Set(ctx, "greeting", Greeting{Text: ${JSON.stringify(greeting.text)}, Count: ${greeting.count}}, larder.WithTTL(time.Minute))
	if err != nil {
		panic(err)
	}
	var got Greeting
	found, err := c.Get(ctx, "greeting", &got)
	if err != nil {
		panic(err)
	}
	fmt.Println(applied, found, got.Text+"/"+fmt.Sprint(got.Count))
}
`,
    );
    await run("go", ["build", "-o", join(gopath, "greet"), "."], { cwd: app, env });
    const ns = freshNamespace("pkg-go");
    const out = await run(join(gopath, "greet"), [server?.url ?? "", ns]);
    expect(out.trim()).toBe(`true true ${greeting.text}/${greeting.count}`);
    await expectStored(ns);
  }, 240_000);
});
