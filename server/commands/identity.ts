import { createHash } from "node:crypto";

/** What makes two runs the same run, for caching, fallback and single flight. */
export interface IdentityParts {
  readonly command: string;
  readonly args: Readonly<Record<string, string>>;
  /** Only the caller headers the command lets through, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | string | undefined;
}

/**
 * The cache identity of a run: a SHA-256 over a canonical encoding, so that
 * map order never matters and no value can collide with another by
 * concatenation. The namespace is not hashed in: the store keys already
 * carry it, so identities of different namespaces never meet.
 */
export function commandIdentity(p: IdentityParts): string {
  const sorted = (r: Readonly<Record<string, string>>): [string, string][] =>
    Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const body =
    p.body === undefined ? null : typeof p.body === "string" ? { t: p.body } : { b: Buffer.from(p.body).toString("base64") };
  const canonical = JSON.stringify([p.command, sorted(p.args), sorted(p.headers), body]);
  return `${p.command}:${createHash("sha256").update(canonical).digest("base64url")}`;
}
