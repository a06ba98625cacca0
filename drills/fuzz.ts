/**
 * Drill: malformed requests to every method, over gRPC (HTTP/2) and Connect
 * JSON (HTTP/1.1): random and mutated protobuf, truncated and oversized
 * frames, bad compression flags, bad deadlines, deep and huge JSON, invalid
 * UTF-8, odd headers.
 */

import * as http from "node:http";
import * as http2 from "node:http2";
import { CacheService } from "../server/gen/larder/v1/cache_pb.js";
import { Promises, type Drill } from "./drill.js";
import { startLarder } from "./larder-process.js";

const counts = { quick: 5_000, full: 100_000 };
const inFlight = 16;
// What a client may see: gRPC's codes by name, never a stack or a path.
const leak = /\n\s+at |\.ts:\d+|\.js:\d+|node_modules|\/work\/|\/home\/|\/root\//;
// INTERNAL is gRPC's answer only to a message that cannot be parsed or a
// body that cannot be decompressed; everything else must say what is wrong.
const internalAllowed = new Set(["body", "frame", "compression"]);

type Kind = "body" | "frame" | "compression" | "timeout" | "headers" | "json";

/** A seeded pseudo-random source, so that a failing run can be repeated. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const methods = [...CacheService.methods.map((m) => `/${CacheService.typeName}/${m.name}`), `/${CacheService.typeName}/Nope`, "/larder.v1.Nope/Get"];

export const fuzz: Drill = {
  id: "fuzz",
  promise:
    "malformed requests to every method over gRPC and Connect JSON: the server never exits, no answer carries a stack trace or an internal path, codes are gRPC's (INTERNAL only for an unparseable message or undecompressable body), and health stays SERVING",
  async run(ctx) {
    const larder = await startLarder(ctx.root, "larder", {});
    const check = new Promises();
    const rnd = random(0x1a4de5);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
    const h2 = http2.connect(larder.url);
    h2.on("error", () => {});
    const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
    const codes = new Map<string, number>();
    const problems: string[] = [];
    const note = (kind: Kind, code: string, text: string): void => {
      codes.set(code, (codes.get(code) ?? 0) + 1);
      if (leak.test(text)) problems.push(`${kind}: an answer leaks internals: ${text.slice(0, 200)}`);
      if (code === "internal" && !internalAllowed.has(kind)) problems.push(`${kind}: INTERNAL for a request that was not a bad message: ${text.slice(0, 200)}`);
    };

    const frame = (body: Buffer, flag = 0, declared = body.length): Buffer => {
      const head = Buffer.alloc(5);
      head[0] = flag;
      head.writeUInt32BE(declared >>> 0, 1);
      return Buffer.concat([head, body]);
    };

    const grpcCall = (): Promise<void> => {
      const kind = pick<Kind>(["body", "frame", "compression", "timeout", "headers"]);
      const headers: http2.OutgoingHttpHeaders = { ":method": "POST", ":path": pick(methods), "content-type": "application/grpc", te: "trailers" };
      // The header kinds send an empty message, which every request type
      // reads: whatever goes wrong is then the headers' doing.
      let payload = kind === "body" ? frame(bytes(Math.floor(rnd() * 64))) : frame(Buffer.alloc(0));
      if (kind === "frame") {
        const b = bytes(Math.floor(rnd() * 32));
        payload = pick([frame(b, 0, b.length + 1 + Math.floor(rnd() * 100)), frame(b).subarray(0, 3), frame(b, 0, 0xffffffff), Buffer.concat([frame(b), frame(b)])]);
      } else if (kind === "compression") {
        payload = frame(bytes(20), pick([1, 2, 255]));
        if (rnd() < 0.5) headers["grpc-encoding"] = pick(["gzip", "br", "zstd", "x"]);
      } else if (kind === "timeout") {
        headers["grpc-timeout"] = pick(["", "abc", "-1S", "99999999H", "1n", "100000000m", "1.5S", "0S", "9".repeat(40)]);
      } else if (kind === "headers") {
        headers["content-type"] = pick(["application/grpc+json", "application/grpc; x", "application/grpc-web", "text/plain", "application/grpc"]);
        headers["larder-namespace"] = pick(["", "x".repeat(5000), "ns\u00ff", "a b"]);
        headers.authorization = pick(["Bearer", "Bearer " + "k".repeat(3000), "Basic x"]);
      }
      return new Promise((resolve) => {
        const stream = h2.request(headers);
        let status = "";
        let text = "";
        stream.on("response", (h) => {
          status = String(h["grpc-status"] ?? "");
          text += String(h["grpc-message"] ?? "");
        });
        stream.on("trailers", (t) => {
          status = String(t["grpc-status"] ?? status);
          text += String(t["grpc-message"] ?? "");
        });
        stream.on("data", (d: Buffer) => void (text += d.toString("latin1").slice(0, 200)));
        const done = (): void => {
          note(kind, grpcCodeName(status), decodeURIComponentSafe(text));
          resolve();
        };
        stream.on("close", done);
        stream.on("error", () => {});
        stream.end(payload);
      });
    };

    const jsonCall = (): Promise<void> => {
      let kind: Kind = "json";
      const body = pick([
        () => bytes(Math.floor(rnd() * 100)),
        () => Buffer.from("[".repeat(20_000) + "]".repeat(20_000)),
        () => Buffer.from(`{"key":"${"k".repeat(2 * 1024 * 1024)}"}`),
        () => Buffer.concat([Buffer.from('{"key":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]),
        () => Buffer.from('{"key": 5, "value": {"json": 7}}'),
        () => Buffer.from('{"keys": "nope", "ttlMs": "-1"}'),
        () => Buffer.from('{"key":"k","value":{"json":"{not json"}}'),
      ])();
      const type = pick(["application/json", "application/json; charset=latin1", "application/proto", "text/html"]);
      // A binary body that is no message is an unparseable message, as in gRPC.
      if (type === "application/proto") kind = "body";
      const headers: http.OutgoingHttpHeaders = { "content-type": type };
      if (rnd() < 0.3) headers["connect-timeout-ms"] = pick(["x", "-5", "99999999999", ""]);
      if (rnd() < 0.2) {
        headers["content-encoding"] = pick(["gzip", "br", "bogus"]);
        // A body that does not decompress is gRPC's other INTERNAL.
        kind = "compression";
      }
      return new Promise((resolve) => {
        const req = http.request(`${larder.url}${pick(methods)}`, { method: "POST", agent, headers }, (res) => {
          let text = "";
          res.setEncoding("latin1");
          res.on("data", (d: string) => void (text += d.slice(0, 500)));
          res.on("end", () => {
            note(kind, connectCode(res.statusCode ?? 0, text), text);
            resolve();
          });
          res.on("error", () => resolve());
        });
        req.on("error", () => resolve());
        req.end(body);
      });
    };

    let sent = 0;
    const total = counts[ctx.mode];
    try {
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (sent < total) {
            sent++;
            await (rnd() < 0.6 ? grpcCall() : jsonCall());
          }
        }),
      );
      const ready = await fetch(`${larder.url}/readyz`).then((r) => r.status, () => 0);
      check.expect(larder.alive(), "Larder exited");
      check.expect(ready === 200, `/readyz answered ${ready}, not 200 SERVING`);
      check.expect(problems.length === 0, `${problems.length} answers broke the promise, e.g. ${problems.slice(0, 3).join(" | ")}`);
      return check.result({
        requests: sent,
        codes: [...codes.entries()].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(", "),
        "bad answers": problems.length,
      });
    } finally {
      h2.close();
      agent.destroy();
      await larder.stop();
    }
  },
};

const grpcNames = ["ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists", "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated"];

function grpcCodeName(status: string): string {
  if (status === "") return "no status (stream reset)";
  return grpcNames[Number(status)] ?? `bad status ${status}`;
}

/** The Connect error code of an HTTP/1.1 answer (its JSON `code`), or the HTTP status. */
function connectCode(status: number, text: string): string {
  if (status === 200) return "ok";
  const m = /"code":"([a-z_]+)"/.exec(text);
  return m?.[1] ?? `http ${status}`;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
