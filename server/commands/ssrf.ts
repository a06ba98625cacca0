import { lookup as lookupCallback, type LookupAddress } from "node:dns";
import { lookup } from "node:dns/promises";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { LarderError } from "../core/errors.js";

/**
 * Address ranges no command may reach unless it sets allowPrivateNetwork:
 * they lead into the server's own network (or its cloud metadata service),
 * which is exactly what a server-side request forgery aims at.
 */
const forbidden = new BlockList();
forbidden.addSubnet("0.0.0.0", 8, "ipv4"); // unspecified, "this network"
forbidden.addSubnet("10.0.0.0", 8, "ipv4");
forbidden.addSubnet("100.64.0.0", 10, "ipv4"); // CGNAT
forbidden.addSubnet("127.0.0.0", 8, "ipv4");
forbidden.addSubnet("169.254.0.0", 16, "ipv4"); // link-local, incl. 169.254.169.254 metadata
forbidden.addSubnet("172.16.0.0", 12, "ipv4");
forbidden.addSubnet("192.168.0.0", 16, "ipv4");
forbidden.addSubnet("224.0.0.0", 3, "ipv4"); // multicast and reserved
forbidden.addAddress("::", "ipv6");
forbidden.addAddress("::1", "ipv6");
forbidden.addSubnet("fc00::", 7, "ipv6");
forbidden.addSubnet("fe80::", 10, "ipv6");
forbidden.addSubnet("ff00::", 8, "ipv6");

/** Whether an IP address is loopback, private, link-local, unspecified, CGNAT or multicast. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return forbidden.check(address, "ipv4");
  if (family === 6) {
    // IPv4-mapped (::ffff:a.b.c.d) would otherwise smuggle a v4 address past the v4 rules.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1] !== undefined) return forbidden.check(mapped[1], "ipv4");
    return forbidden.check(address, "ipv6");
  }
  return true;
}

/** Resolves host names to addresses; injectable for tests. */
export type Resolver = (host: string) => Promise<string[]>;

/** The system resolver, with every address of the name. */
export const systemResolver: Resolver = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/**
 * Refuses a URL whose host resolves to any forbidden address. Every address
 * must pass, since the connection may use any of them.
 * @throws LarderError permissionDenied, naming the host (never the full URL, which may carry args).
 */
export async function checkTarget(url: URL, command: string, resolve: Resolver = systemResolver): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  try {
    addresses = isIP(host) === 0 ? await resolve(host) : [host];
  } catch {
    throw new LarderError("unavailable", `command ${command}: cannot resolve upstream host ${host}`);
  }
  for (const a of addresses) {
    if (isForbiddenAddress(a)) {
      throw new LarderError(
        "permissionDenied",
        `command ${command}: upstream host ${host} resolves to a private, loopback or link-local address (${a}); ` +
          "set allowPrivateNetwork on the command to allow it",
      );
    }
  }
}

/**
 * A socket `lookup` that resolves like the system and then refuses forbidden
 * addresses, unless the command allows private targets (all of them, or
 * this host). Used for the connection itself, so what is checked is what is
 * connected to.
 */
export function guardedLookup(def: { name: string; allowPrivateNetwork: boolean; allowPrivateHosts: readonly string[] }): LookupFunction {
  return (hostname, options, callback) => {
    lookupCallback(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err !== null) {
        callback(err, "", 0);
        return;
      }
      const allowed = def.allowPrivateNetwork || def.allowPrivateHosts.includes(hostname.toLowerCase());
      const bad = allowed ? undefined : addresses.find((a) => isForbiddenAddress(a.address));
      if (bad !== undefined) {
        const refused = Object.assign(
          new Error(`command ${def.name}: upstream host ${hostname} resolved to a forbidden address (${bad.address})`),
          { code: "EADDRFORBIDDEN" },
        );
        callback(refused, "", 0);
        return;
      }
      if (options.all === true) {
        (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
        return;
      }
      const first = addresses[0];
      if (first === undefined) {
        callback(Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND" }), "", 0);
        return;
      }
      callback(null, first.address, first.family);
    });
  };
}
