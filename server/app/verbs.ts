import { readFileSync } from "node:fs";
import { createClient, ConnectError, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { rootCertificates } from "node:tls";
import { CacheService } from "../gen/larder/v1/cache_pb.js";

/** The client verbs of the `larder` command line (`larder get`, …). */
export const clientVerbs: readonly string[] = ["get", "set", "del", "keys", "locks"];

/** Where and as whom the command line connects. */
export interface ClientVerbOptions {
  url: string;
  namespace: string | undefined;
  apiKey: string | undefined;
  ttl: string | undefined;
  noExpiry: boolean;
  /** A CA certificate (PEM file) to trust for an https:// URL, besides the system roots. */
  ca?: string | undefined;
  /** A client certificate (PEM file), for a server that requires one. */
  cert?: string | undefined;
  /** The client certificate's key (PEM file). */
  key?: string | undefined;
}

/**
 * Runs one client verb over Connect JSON on HTTP/1.1, the protocol every
 * terminal can reach, and prints the answer. Returns the exit code.
 */
export async function runClientVerb(verb: string, args: string[], options: ClientVerbOptions): Promise<number> {
  const headers: Record<string, string> = {};
  if (options.namespace !== undefined) headers["larder-namespace"] = options.namespace;
  if (options.apiKey !== undefined) headers["authorization"] = `Bearer ${options.apiKey}`;
  let nodeOptions: { ca?: string; cert?: string; key?: string };
  try {
    nodeOptions = tlsFiles(options);
  } catch (err) {
    process.stderr.write(`larder ${verb}: ${(err as Error).message}\n`);
    return 2;
  }
  const client = createClient(CacheService, createConnectTransport({ baseUrl: options.url, httpVersion: "1.1", nodeOptions }));
  try {
    return await run(client, verb, args, options, headers);
  } catch (err) {
    const e = ConnectError.from(err);
    process.stderr.write(`larder ${verb}: ${e.rawMessage} (${codeName(e.code)})\n`);
    return 1;
  }
}

async function run(
  client: Client<typeof CacheService>,
  verb: string,
  args: string[],
  options: ClientVerbOptions,
  headers: Record<string, string>,
): Promise<number> {
  const call = { headers, timeoutMs: 10_000 };
  const out = (line: string): void => void process.stdout.write(line + "\n");
  switch (verb) {
    case "get": {
      const res = await client.get({ key: need(args, 0, "key") }, call);
      if (!res.found) {
        process.stderr.write("(not found)\n");
        return 1;
      }
      const kind = res.value?.kind;
      out(kind?.case === "json" ? kind.value : kind?.case === "binary" ? Buffer.from(kind.value).toString("base64") : "");
      return 0;
    }
    case "set": {
      const key = need(args, 0, "key");
      const json = need(args, 1, "json value");
      const expiry = options.noExpiry
        ? ({ case: "noExpiry", value: true } as const)
        : options.ttl !== undefined
          ? ({ case: "ttlMs", value: BigInt(Math.round(Number(options.ttl) * 1000)) } as const)
          : ({ case: undefined } as const);
      const res = await client.set({ key, value: { kind: { case: "json", value: json } }, expiry }, call);
      out(`version ${res.version}${res.created ? " (created)" : ""}`);
      return 0;
    }
    case "del": {
      if (args.length === 0) throw new ConnectError("del: give at least one key", 3);
      const res = await client.delete({ keys: args }, call);
      out(`deleted ${res.deleted}`);
      return 0;
    }
    case "keys": {
      let cursor = "";
      do {
        const page = await client.keys({ pattern: args[0] ?? "", cursor, limit: 1000 }, call);
        for (const key of page.keys) out(key);
        cursor = page.nextCursor;
      } while (cursor !== "");
      return 0;
    }
    case "locks": {
      let cursor = "";
      do {
        const page = await client.listLocks({ pattern: args[0] ?? "", cursor, limit: 1000 }, call);
        for (const lock of page.locks) {
          out(`${lock.name}\t${lock.holder?.owner ?? ""}\t${lock.holder?.expiresAt?.seconds ?? ""}`);
        }
        cursor = page.nextCursor;
      } while (cursor !== "");
      return 0;
    }
    default:
      return 2;
  }
}

/** Reads --ca, --cert and --key. */
function tlsFiles(options: ClientVerbOptions): { ca?: string; cert?: string; key?: string } {
  const out: { ca?: string; cert?: string; key?: string } = {};
  for (const name of ["ca", "cert", "key"] as const) {
    const path = options[name];
    if (path === undefined || path === "") continue;
    try {
      out[name] = readFileSync(path, "utf8");
    } catch (err) {
      throw new Error(`--${name}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  // node:tls replaces the system roots with `ca`; a private CA is added to them instead.
  if (out.ca !== undefined) out.ca = [...rootCertificates, out.ca].join("\n");
  return out;
}

function need(args: string[], i: number, what: string): string {
  const v = args[i];
  if (v === undefined) throw new ConnectError(`missing ${what}`, 3);
  return v;
}

function codeName(code: number): string {
  const names = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
  ];
  return names[code] ?? String(code);
}
