import { createHash } from "node:crypto";
import { createContextKey } from "@connectrpc/connect";
import { invalidArgument, limitExceeded, LarderError } from "../core/errors.js";
import { describeBytes } from "../core/limits.js";

/** What an API key may do. */
export type Permission = "read" | "write" | "lock" | "run" | "admin";

/**
 * The data permissions, granted when a key lists none. `admin` is not among
 * them: it sees server-wide figures, so a key gets it only by listing it.
 */
export const allPermissions: readonly Permission[] = ["read", "write", "lock", "run"];

/** Every permission a key may list; all of them are granted when auth is off. */
export const knownPermissions: readonly Permission[] = [...allPermissions, "admin"];

/** Who is calling: the namespace the call acts in, and what it may do. */
export interface Caller {
  readonly namespace: string;
  readonly permissions: ReadonlySet<Permission>;
}

/** Where the transport layer leaves the resolved caller for the service. */
export const callerKey = createContextKey<Caller | undefined>(undefined, { description: "larder caller" });

/** The request header that picks the namespace when auth is off. */
export const namespaceHeader = "larder-namespace";

/** The namespace of calls that name none. */
export const defaultNamespace = "default";

/** One configured API key. The key itself is never stored, only its hash. */
export interface ApiKeyConfig {
  /** Hex SHA-256 of the key (`larder hash-key <key>` prints it). */
  sha256: string;
  /** The namespace this key acts in. */
  namespace: string;
  /** What the key may do. Default: everything. */
  permissions?: Permission[];
}

/** Options of {@link createAuthenticator}. */
export interface AuthenticatorOptions {
  /** The API keys. Auth is on when there is at least one. Default none. */
  apiKeys?: readonly ApiKeyConfig[];
  /** Longest namespace name in bytes. Default 128. */
  maxNamespaceBytes?: number;
}

/** Turns request headers into a {@link Caller}. */
export interface Authenticator {
  /** Whether API keys are required. */
  readonly enabled: boolean;
  /**
   * Resolves the caller of a request.
   * @param header reads one request header by lower-case name.
   */
  resolve(header: (name: string) => string | null): Caller;
}

/** The permission each RPC needs. */
const rpcPermission: Record<string, Permission> = {
  Get: "read",
  Has: "read",
  Keys: "read",
  GetMany: "read",
  Set: "write",
  SetMany: "write",
  Delete: "write",
  Extend: "write",
  Increment: "write",
  Lock: "lock",
  Unlock: "lock",
  ExtendLock: "lock",
  CheckLock: "lock",
  ListLocks: "lock",
  RunCommand: "run",
  ListCommandEvents: "run",
  // larder.v1.AdminService
  ListNamespaces: "admin",
  GetStats: "admin",
  ListCommandStates: "admin",
};

/**
 * Throws PERMISSION_DENIED unless the caller may call the RPC. An RPC
 * missing from the table needs every permission, so a new RPC is closed
 * until it is classified.
 */
export function authorize(caller: Caller, rpc: string): void {
  const needed = rpcPermission[rpc];
  const ok = needed === undefined ? allPermissions.every((p) => caller.permissions.has(p)) : caller.permissions.has(needed);
  if (!ok) {
    throw new LarderError("permissionDenied", `${rpc}: the API key lacks the "${needed ?? "all"}" permission`);
  }
}

/** Hex SHA-256 of an API key, as configuration stores it. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** Creates the authenticator for a set of API keys. */
export function createAuthenticator(options: AuthenticatorOptions = {}): Authenticator {
  const maxNamespaceBytes = options.maxNamespaceBytes ?? 128;
  const keys = new Map<string, Caller>();
  for (const [i, key] of (options.apiKeys ?? []).entries()) {
    if (!/^[0-9a-f]{64}$/i.test(key.sha256)) {
      throw new Error(`apiKeys[${i}].sha256: must be 64 hex digits (see "larder hash-key")`);
    }
    checkNamespace(`apiKeys[${i}].namespace`, key.namespace, maxNamespaceBytes);
    keys.set(key.sha256.toLowerCase(), {
      namespace: key.namespace,
      permissions: new Set(key.permissions ?? allPermissions),
    });
  }
  const everything = new Set(knownPermissions);
  const enabled = keys.size > 0;

  return {
    enabled,
    resolve(header) {
      const named = header(namespaceHeader);
      if (!enabled) {
        const namespace = named === null || named === "" ? defaultNamespace : named;
        checkNamespace(namespaceHeader, namespace, maxNamespaceBytes);
        return { namespace, permissions: everything };
      }
      const caller = lookup(keys, header("authorization"));
      if (named !== null && named !== "" && named !== caller.namespace) {
        throw new LarderError(
          "permissionDenied",
          `${namespaceHeader}: this API key belongs to another namespace; omit the header`,
        );
      }
      return caller;
    },
  };
}

function lookup(keys: Map<string, Caller>, authorization: string | null): Caller {
  const match = authorization === null ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (match?.[1] === undefined) {
    throw new LarderError("unauthenticated", "authorization: missing; send \"authorization: Bearer <api key>\"");
  }
  // Looking up the SHA-256 of the presented key, not the key, means a
  // timing difference can only reveal hash prefixes, which a guesser cannot
  // steer.
  const caller = keys.get(hashApiKey(match[1]));
  if (caller === undefined) {
    throw new LarderError("unauthenticated", "authorization: unknown API key");
  }
  return caller;
}

/** Checks a namespace name: 1 to `maxBytes` UTF-8 bytes, no control characters. */
export function checkNamespace(field: string, namespace: string, maxBytes: number): string {
  if (namespace.length === 0) {
    throw invalidArgument(field, "must not be empty");
  }
  const bytes = Buffer.byteLength(namespace);
  if (bytes > maxBytes) {
    throw limitExceeded(field, `${bytes} bytes exceeds the namespace limit of ${describeBytes(maxBytes)}`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(namespace)) {
    throw invalidArgument(field, "must not contain control characters");
  }
  return namespace;
}
