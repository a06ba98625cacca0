/**
 * Certificates for the TLS suites, made with the `openssl` command into a
 * temp dir on every run (none is committed): a CA, server certificates for
 * 127.0.0.1 and localhost, and client certificates, all signed by that CA.
 */

import { execFileSync } from "node:child_process";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, removeTempDir } from "./redis-process.js";

/** A certificate and its key, as PEM files and their contents. */
export interface CertFiles {
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: string;
  readonly key: string;
}

/** A certificate authority that issues certificates into its temp dir. */
export interface TestCa extends CertFiles {
  /** The dir holding every file of this CA. */
  readonly dir: string;
  /**
   * Issues a server certificate for 127.0.0.1, ::1 and localhost (plus
   * `extraNames`), written as `<name>.crt` and `<name>.key`.
   */
  server(name: string, extraNames?: string[]): CertFiles;
  /** Issues a client certificate (extendedKeyUsage clientAuth) with the common name `name`. */
  client(name: string): CertFiles;
  /** Removes the dir. */
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/**
 * Makes a CA (an EC P-256 key, valid a day) in a new temp dir. Each call
 * makes a different, unrelated CA, so a second one is the "wrong CA" of a test.
 */
export function makeCa(label = "larder-test-ca"): TestCa {
  const dir = makeTempDir("larder-certs");
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], dir);
  openssl(["req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "1", "-subj", `/CN=${label}`, "-out", "ca.crt"], dir);
  let serial = 1;
  const issue = (name: string, ext: string): CertFiles => {
    const keyPath = join(dir, `${name}.key`);
    const certPath = join(dir, `${name}.crt`);
    // Written beside the final files, then renamed into place, so a server
    // watching them never reads half a file.
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key.new`], dir);
    openssl(["req", "-new", "-key", `${name}.key.new`, "-subj", `/CN=${name}`, "-out", `${name}.csr`], dir);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(
      ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", String(serial++ + Date.now()),
        "-days", "1", "-sha256", "-extfile", `${name}.ext`, "-out", `${name}.crt.new`],
      dir,
    );
    renameSync(`${keyPath}.new`, keyPath);
    renameSync(`${certPath}.new`, certPath);
    return { certPath, keyPath, cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8") };
  };
  return {
    dir,
    certPath: join(dir, "ca.crt"),
    keyPath: join(dir, "ca.key"),
    cert: readFileSync(join(dir, "ca.crt"), "utf8"),
    key: readFileSync(join(dir, "ca.key"), "utf8"),
    server(name, extraNames = []) {
      const names = ["IP:127.0.0.1", "IP:::1", "DNS:localhost", ...extraNames.map((n) => `DNS:${n}`)].join(",");
      return issue(name, `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${names}\n`);
    },
    client(name) {
      return issue(name, "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n");
    },
    remove() {
      removeTempDir(dir);
    },
  };
}
