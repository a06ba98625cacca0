/**
 * The server's TLS credentials: the certificate, key and optional client CA
 * read from PEM files, checked, and re-read when the files change (polled)
 * or when asked to (SIGHUP), so that a rotated certificate is served to new
 * connections without a restart and without touching those in flight.
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import type * as tls from "node:tls";
import type { Logger } from "./logger.js";

/** Where the server's TLS material is: PEM file paths. */
export interface TlsFiles {
  /** The certificate chain, leaf first. Required. */
  cert: string;
  /** The certificate's private key. Required. */
  key: string;
  /** When set, clients must present a certificate signed by this CA (mTLS). Default unset: no client certificates. */
  clientCa?: string | undefined;
}

/** A TLS setting whose file cannot be used; `setting` is the {@link TlsFiles} field. */
export class TlsFileError extends Error {
  override readonly name = "TlsFileError";
  constructor(
    readonly setting: keyof TlsFiles,
    message: string,
  ) {
    super(message);
  }
}

/** What node:tls needs for the server side, read from {@link TlsFiles}. */
export type ServerTlsContext = Pick<tls.SecureContextOptions, "cert" | "key" | "ca"> & {
  requestCert: boolean;
  rejectUnauthorized: boolean;
};

function read(setting: keyof TlsFiles, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new TlsFileError(setting, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * Reads and checks the files: the certificate and CA must parse, the key
 * must parse and belong to the certificate. Throws {@link TlsFileError}
 * naming the first bad setting.
 */
export function readTlsFiles(files: TlsFiles): ServerTlsContext {
  const cert = read("cert", files.cert);
  const key = read("key", files.key);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new TlsFileError("cert", `${files.cert} is not a PEM certificate: ${(err as Error).message}`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new TlsFileError("key", `${files.key} is not a PEM private key: ${(err as Error).message}`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new TlsFileError("key", `${files.key} does not match the certificate in ${files.cert}`);
  }
  if (files.clientCa === undefined) return { cert, key, requestCert: false, rejectUnauthorized: false };
  const ca = read("clientCa", files.clientCa);
  try {
    new X509Certificate(ca);
  } catch (err) {
    throw new TlsFileError("clientCa", `${files.clientCa} is not a PEM certificate: ${(err as Error).message}`);
  }
  return { cert, key, ca, requestCert: true, rejectUnauthorized: true };
}

/** Options of {@link TlsCredentials}. */
export interface TlsCredentialsOptions {
  /** The files. Required. */
  files: TlsFiles;
  /** Told about reloads and failed ones. Required. */
  logger: Logger;
  /** How often the files are checked for changes, in ms; 0 turns polling off. Default 1000. */
  pollIntervalMs?: number;
}

/**
 * The current TLS context and who to tell when it changes. Polling stats
 * the paths (following symlinks, so a Kubernetes secret's `..data` swap is
 * seen too) rather than fs.watch, which loses a file replaced by rename.
 */
export class TlsCredentials {
  private ctx: ServerTlsContext;
  private readonly listeners: ((ctx: ServerTlsContext) => void)[] = [];
  private readonly timer: NodeJS.Timeout | undefined;
  /** The files' stat signature when last read, successfully or not. */
  private seen: string;
  private checking = false;

  /** Reads the files; throws {@link TlsFileError} when they cannot be used. */
  constructor(private readonly options: TlsCredentialsOptions) {
    this.seen = this.signature();
    this.ctx = readTlsFiles(options.files);
    const interval = options.pollIntervalMs ?? 1000;
    if (interval > 0) {
      this.timer = setInterval(() => this.poll(), interval);
      this.timer.unref();
    }
  }

  /** The context new connections get. */
  get context(): ServerTlsContext {
    return this.ctx;
  }

  /** Calls `listener` with every new context. */
  onChange(listener: (ctx: ServerTlsContext) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Re-reads the files now. A bad set (a half-written file, a key that
   * does not match yet) is logged and the current context stays.
   * @returns whether the new files were taken.
   */
  reload(reason: string): boolean {
    this.seen = this.signature();
    let next: ServerTlsContext;
    try {
      next = readTlsFiles(this.options.files);
    } catch (err) {
      this.options.logger.warn("TLS files not reloaded; the current certificate stays", {
        reason,
        setting: err instanceof TlsFileError ? `tls.${err.setting}` : undefined,
        error: (err as Error).message,
      });
      return false;
    }
    this.ctx = next;
    for (const listener of this.listeners) listener(next);
    const leaf = new X509Certificate(next.cert as string);
    this.options.logger.info("TLS certificate reloaded", { reason, subject: leaf.subject, validTo: leaf.validTo, serial: leaf.serialNumber });
    return true;
  }

  /** Stops polling. */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  private poll(): void {
    if (this.checking) return;
    this.checking = true;
    try {
      if (this.signature() !== this.seen) this.reload("files changed");
    } finally {
      this.checking = false;
    }
  }

  private signature(): string {
    const { cert, key, clientCa } = this.options.files;
    return [cert, key, clientCa]
      .map((path) => {
        if (path === undefined) return "";
        try {
          const s = statSync(path);
          return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
        } catch {
          return "missing";
        }
      })
      .join("|");
  }
}
