import { describe, expect, it } from "vitest";
import { CommandConfigError, parseCommands } from "../../server/commands/definitions.js";
import { isForbiddenAddress, checkTarget, guardedLookup } from "../../server/commands/ssrf.js";
import { fetchUpstream, UpstreamFailure } from "../../server/commands/fetch-upstream.js";
import { startUpstream } from "./upstream.js";
import { buildRequest } from "../../server/commands/request.js";

describe("command address checks", () => {
  it.each([
    "127.0.0.1", "127.5.5.5", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "not-an-ip",
  ])("refuses %s", (a) => expect(isForbiddenAddress(a)).toBe(true));

  it.each(["8.8.8.8", "172.32.0.1", "100.128.0.1", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])("allows %s", (a) =>
    expect(isForbiddenAddress(a)).toBe(false),
  );

  it("checks every resolved address of a host name", async () => {
    const resolve = async (): Promise<string[]> => ["93.184.216.34", "10.0.0.7"];
    await expect(checkTarget(new URL("https://api.example.com/x"), "cmd", resolve)).rejects.toThrow(/api\.example\.com.*10\.0\.0\.7/);
    await expect(checkTarget(new URL("https://api.example.com/x"), "cmd", async () => ["93.184.216.34"])).resolves.toBeUndefined();
  });
});

describe("command definitions", () => {
  const parse = (c: unknown, env: NodeJS.ProcessEnv = {}) => parseCommands({ ns: { c } }, env, 1000);

  it("names the setting in every error", () => {
    expect(() => parse({})).toThrow(/commands\.ns\.c\.url: required/);
    expect(() => parse({ url: "http://{host}/x", args: ["host"] })).toThrow(/commands\.ns\.c\.url: .*placeholders only after the host/);
    expect(() => parse({ url: "http://a.example/{x}" })).toThrow(/commands\.ns\.c\.url: placeholder \{x\} is not in args/);
    expect(() => parse({ url: "http://a.example/", cacheSeconds: 5 })).toThrow(/commands\.ns\.c\.cacheSeconds: must be an integer from 15 to 600/);
    expect(() => parse({ url: "http://a.example/", cacheSeconds: 601 })).toThrow(CommandConfigError);
    expect(() => parse({ url: "http://a.example/", maxResponseBytes: 2000 })).toThrow(/maxResponseBytes: must be an integer from 1 to 1000/);
    expect(() => parse({ url: "http://a.example/", headers: { authorization: { env: "NOPE" } } })).toThrow(
      /commands\.ns\.c\.headers\.authorization: environment variable NOPE is not set/,
    );
    expect(() => parse({ url: "http://a.example/", bogus: 1 })).toThrow(/commands\.ns\.c\.bogus: unknown setting/);
    expect(() => parse({ url: "ftp://a.example/" })).toThrow(/commands\.ns\.c\.url/);
    expect(() => parse({ url: "http://user:pw@a.example/" })).toThrow(/credentials/);
  });

  it("resolves secrets from the environment without echoing them in errors", () => {
    const defs = parse({ url: "http://a.example/", headers: { Authorization: { env: "TOKEN" } } }, { TOKEN: "abc" });
    const def = defs.get("ns")?.get("c");
    expect(def?.headers.get("authorization")).toBe("abc");
    expect(def?.secrets).toEqual(["abc"]);
  });

  it("builds URLs whose origin args cannot change", () => {
    const def = parse({ url: "https://a.example/users/{id}?q={q}", args: ["id", "q"] }).get("ns")?.get("c");
    if (def === undefined) throw new Error("missing");
    const r = buildRequest(def, { name: "c", args: { id: "@evil.host", q: "a&b=c" }, headers: {}, body: undefined });
    expect(r.url.href).toBe("https://a.example/users/%40evil.host?q=a%26b%3Dc");
    expect(() => buildRequest(def, { name: "c", args: { id: "..", q: "" }, headers: {}, body: undefined })).toThrow(/args\.id/);
    expect(() => buildRequest(def, { name: "c", args: { id: "1" }, headers: {}, body: undefined })).toThrow(/args\.q: required/);
  });
});

describe("command connections (DNS rebinding)", () => {
  it("refuses a forbidden address at connect time, even when the pre-check saw a public one", async () => {
    const upstream = await startUpstream();
    try {
      const defs = parseCommands({ ns: { c: { url: `http://localhost:${upstream.port}/x` } } }, {}, 1000);
      const def = defs.get("ns")?.get("c");
      if (def === undefined) throw new Error("no definition");
      // The pre-check's resolver answers a public address, as a rebinding
      // DNS server would the first time; the connection resolves localhost.
      const rebinding = async (): Promise<string[]> => ["93.184.216.34"];
      const request = { url: new URL(`http://localhost:${upstream.port}/x`), headers: {}, body: undefined };
      const err = await fetchUpstream(def, request, new AbortController().signal, rebinding).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UpstreamFailure);
      expect(String((err as Error).message)).toMatch(/cannot reach upstream localhost/);
      expect(upstream.requests).toHaveLength(0);
    } finally {
      await upstream.close();
    }
  });

  it("lets a command that allows the host connect to it", async () => {
    const lookup = guardedLookup({ name: "c", allowPrivateNetwork: false, allowPrivateHosts: ["localhost"] });
    const address = await new Promise<string>((resolve, reject) =>
      lookup("localhost", {}, (err, a) => (err ? reject(err) : resolve(String(a)))),
    );
    expect(isForbiddenAddress(address)).toBe(true);
    const refusing = guardedLookup({ name: "c", allowPrivateNetwork: false, allowPrivateHosts: [] });
    await expect(
      new Promise((resolve, reject) => refusing("localhost", {}, (err, a) => (err ? reject(err) : resolve(a)))),
    ).rejects.toThrow(/forbidden address/);
  });
});
