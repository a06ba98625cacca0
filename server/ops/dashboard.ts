import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/** Options of {@link createDashboardHandler}. */
export interface DashboardOptions {
  /**
   * The folder `npm run build` writes the dashboard to (index.html and
   * assets/). Default: dist/dashboard next to the compiled server, which is
   * also where the server run from source (tests) finds it.
   */
  assetsDir?: string;
}

/** The request fields the dashboard reads; both Node request APIs have them. */
export interface DashboardRequest {
  readonly url?: string | undefined;
  readonly method?: string | undefined;
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
}

/** The subset of both response APIs (HTTP/1.1 and HTTP/2 compat) used here. */
interface Response {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body?: string | Buffer): unknown;
}

/** Serves one request under /dashboard; false when the path is not the dashboard's. */
export type DashboardHandler = (req: DashboardRequest, res: object) => boolean;

/** The path the dashboard lives at. */
export const dashboardPath = "/dashboard";

interface Asset {
  readonly body: Buffer;
  readonly gzip: Buffer | undefined;
  readonly type: string;
  readonly etag: string;
  readonly immutable: boolean;
}

const types: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json; charset=utf-8",
};

// Scripts and styles only from the server's own files: no inline script or
// style, no eval, nothing from another origin; calls only to this origin;
// never framed, so that no other site can overlay its buttons.
const csp = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const securityHeaders: Readonly<Record<string, string>> = {
  "content-security-policy": csp,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/**
 * Serves the dashboard's single-page app: `/dashboard` (and `/dashboard/`)
 * is index.html, `/dashboard/assets/*` its scripts and styles. Files are
 * read once, at start-up, and kept in memory with a gzip copy; names with a
 * content hash are cached for a year, index.html is revalidated by ETag.
 * The page itself reaches Larder only through the public API.
 */
export function createDashboardHandler(options: DashboardOptions = {}): DashboardHandler {
  const dir = options.assetsDir ?? defaultAssetsDir();
  const assets = dir === undefined ? new Map<string, Asset>() : loadAssets(dir);
  return (req, res) => {
    const path = (req.url ?? "").split("?", 1)[0] ?? "";
    if (path !== dashboardPath && !path.startsWith(`${dashboardPath}/`)) return false;
    const out = res as Response;
    if (req.method !== "GET" && req.method !== "HEAD") {
      out.writeHead(405, { allow: "GET, HEAD", ...securityHeaders });
      out.end();
      return true;
    }
    const name = path === dashboardPath || path === `${dashboardPath}/` ? "index.html" : path.slice(dashboardPath.length + 1);
    const asset = assets.get(name);
    if (asset === undefined) {
      const missing = assets.size === 0 ? "the dashboard is not built: run npm run build\n" : "not found\n";
      out.writeHead(assets.size === 0 ? 503 : 404, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...securityHeaders });
      out.end(req.method === "HEAD" ? undefined : missing);
      return true;
    }
    const headers: Record<string, string> = {
      "content-type": asset.type,
      "cache-control": asset.immutable ? "public, max-age=31536000, immutable" : "no-cache",
      etag: asset.etag,
      vary: "accept-encoding",
      ...securityHeaders,
    };
    if (header(req, "if-none-match") === asset.etag) {
      out.writeHead(304, headers);
      out.end();
      return true;
    }
    const gzip = asset.gzip !== undefined && /\bgzip\b/.test(header(req, "accept-encoding") ?? "");
    const body = gzip ? (asset.gzip as Buffer) : asset.body;
    if (gzip) headers["content-encoding"] = "gzip";
    headers["content-length"] = String(body.length);
    out.writeHead(200, headers);
    out.end(req.method === "HEAD" ? undefined : body);
    return true;
  };
}

function header(req: DashboardRequest, name: string): string | undefined {
  const v = req.headers?.[name];
  return Array.isArray(v) ? v.join(",") : v;
}

/** dist/dashboard beside the compiled server (dist/ops/…), or from the source tree (server/ops/…). */
function defaultAssetsDir(): string | undefined {
  const candidates = [new URL("../dashboard/", import.meta.url), new URL("../../dist/dashboard/", import.meta.url)];
  for (const c of candidates) {
    const dir = fileURLToPath(c);
    if (existsSync(join(dir, "index.html"))) return dir;
  }
  return undefined;
}

function loadAssets(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  const walk = (sub: string): void => {
    const full = join(dir, sub);
    if (!existsSync(full)) return;
    for (const entry of readdirSync(full)) {
      const rel = sub === "" ? entry : `${sub}/${entry}`;
      if (statSync(join(dir, rel)).isDirectory()) {
        walk(rel);
        continue;
      }
      const type = types[extname(entry)];
      if (type === undefined) continue;
      const body = readFileSync(join(dir, rel));
      const compressible = !type.startsWith("image/png");
      out.set(rel, {
        body,
        gzip: compressible && body.length > 1024 ? gzipSync(body) : undefined,
        type,
        etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
        // The build names assets by content hash (name-HASH.ext).
        immutable: /-[A-Z0-9]{8}\.[a-z]+$/.test(entry),
      });
    }
  };
  walk("");
  return out;
}
