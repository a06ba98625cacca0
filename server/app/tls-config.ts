/**
 * Start-up checks of the TLS settings, so that a missing file, a key that
 * does not match its certificate or an unreadable CA stops the start-up
 * with one line naming the setting, rather than failing the first
 * connection.
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { RedisTlsFiles } from "../store/redis/connection.js";
import { readTlsFiles, TlsFileError, type TlsFiles } from "../core/tls.js";

/** A bad TLS setting; config.ts reports it as a ConfigError (this module cannot import config.ts, which imports it). */
export class TlsConfigError extends Error {
  override readonly name = "TlsConfigError";
}

/** The config file's `tls`: PEM file paths. */
export type ServerTlsSettings = TlsFiles;

const serverNames: Record<keyof TlsFiles, string> = {
  cert: "tls.cert (LARDER_TLS_CERT)",
  key: "tls.key (LARDER_TLS_KEY)",
  clientCa: "tls.clientCa (LARDER_TLS_CLIENT_CA)",
};

function plainObject(where: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new TlsConfigError(`${where}: must be an object`);
  for (const [name, v] of Object.entries(value)) {
    if (!known.includes(name)) throw new TlsConfigError(`${where}.${name}: unknown setting; known: ${known.join(", ")}`);
    if (typeof v !== "string" || v === "") throw new TlsConfigError(`${where}.${name}: must be a file path`);
  }
  return value as Record<string, unknown>;
}

/** Checks the server's TLS settings and files; throws {@link TlsConfigError} naming the bad setting. */
export function checkServerTls(settings: ServerTlsSettings | undefined): void {
  if (settings === undefined) return;
  plainObject("tls", settings, ["cert", "key", "clientCa"]);
  if (settings.cert === undefined) {
    throw new TlsConfigError(`${serverNames.cert}: required when ${settings.key === undefined ? serverNames.clientCa : serverNames.key} is set`);
  }
  if (settings.key === undefined) throw new TlsConfigError(`${serverNames.key}: required when ${serverNames.cert} is set`);
  try {
    readTlsFiles(settings);
  } catch (err) {
    if (err instanceof TlsFileError) throw new TlsConfigError(`${serverNames[err.setting]}: ${err.message}`);
    throw err;
  }
}

/** Checks `redis.tls`: known settings, readable PEM files, a key that matches its certificate. */
export function checkRedisTls(files: RedisTlsFiles | undefined): void {
  if (files === undefined) return;
  plainObject("redis.tls", files, ["ca", "cert", "key"]);
  const text: Partial<Record<keyof RedisTlsFiles, string>> = {};
  for (const name of ["ca", "cert", "key"] as const) {
    const path = files[name];
    if (path === undefined) continue;
    try {
      text[name] = readFileSync(path, "utf8");
    } catch (err) {
      throw new TlsConfigError(`redis.tls.${name}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if ((files.cert === undefined) !== (files.key === undefined)) {
    throw new TlsConfigError(`redis.tls.${files.cert === undefined ? "cert" : "key"}: required with redis.tls.${files.cert === undefined ? "key" : "cert"}`);
  }
  for (const name of ["ca", "cert"] as const) {
    if (text[name] === undefined) continue;
    try {
      new X509Certificate(text[name]);
    } catch (err) {
      throw new TlsConfigError(`redis.tls.${name}: ${files[name]} is not a PEM certificate: ${(err as Error).message}`);
    }
  }
  if (text.cert !== undefined && text.key !== undefined) {
    let matches = false;
    try {
      matches = new X509Certificate(text.cert).checkPrivateKey(createPrivateKey(text.key));
    } catch (err) {
      throw new TlsConfigError(`redis.tls.key: ${files.key} is not a PEM private key: ${(err as Error).message}`);
    }
    if (!matches) throw new TlsConfigError(`redis.tls.key: ${files.key} does not match the certificate in ${files.cert}`);
  }
}
