import { LarderError, invalidArgument } from "../core/errors.js";
import type { CommandDefinition } from "./definitions.js";

/** What a caller asks of a command. */
export interface RunInput {
  name: string;
  args: Readonly<Record<string, string>>;
  headers: Readonly<Record<string, string>>;
  body: Uint8Array | string | undefined;
}

/** The upstream request of a run, and the parts of it that make the cache identity. */
export interface BuiltRequest {
  url: URL;
  /** Static headers plus the allowed caller headers. */
  headers: Record<string, string>;
  /** Only the allowed caller headers (lower-case names): these, not secrets, enter the identity. */
  passed: Record<string, string>;
  body: Uint8Array | string | undefined;
}

const maxArgBytes = 2048;

/**
 * Builds the upstream request. Args are percent-encoded into their
 * placeholders, so `/`, `?`, `#` and `@` arrive as data; dot segments are
 * refused outright because URL parsing would resolve even their encoded
 * form. The origin is then compared with the template's, as a last guard
 * that no arg chose the host.
 */
export function buildRequest(def: CommandDefinition, input: RunInput): BuiltRequest {
  for (const [name, value] of Object.entries(input.args)) {
    if (!def.args.includes(name)) {
      throw invalidArgument(`args.${name}`, `command ${def.name} takes ${def.args.length ? def.args.join(", ") : "no args"}`);
    }
    if (Buffer.byteLength(value) > maxArgBytes) throw invalidArgument(`args.${name}`, `longer than ${maxArgBytes} bytes`);
    if (value === "." || value.includes("..")) throw invalidArgument(`args.${name}`, "must not contain '..' or be '.'");
  }
  const filled = def.url.replace(/\{([^}]*)\}/g, (_, name: string) => {
    const v = input.args[name];
    if (v === undefined) throw invalidArgument(`args.${name}`, `required by command ${def.name}`);
    return encodeURIComponent(v);
  });
  const url = new URL(filled);
  const template = new URL(def.url.replace(/\{[^}]*\}/g, "x"));
  if (url.origin !== template.origin || url.username !== "" || url.password !== "") {
    throw new LarderError("permissionDenied", `command ${def.name}: args must not change the upstream host`);
  }
  const passed: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers)) {
    const lower = name.toLowerCase();
    // Headers the command does not pass are dropped, not refused: callers
    // often send generic headers, and dropped ones never reach the identity.
    if (def.passHeaders.includes(lower)) passed[lower] = value;
  }
  if (input.body !== undefined && (def.method === "GET" || def.method === "HEAD")) {
    throw invalidArgument("body", `command ${def.name} uses ${def.method}, which takes no body`);
  }
  return { url, headers: { ...passed, ...Object.fromEntries(def.headers) }, passed, body: input.body };
}
