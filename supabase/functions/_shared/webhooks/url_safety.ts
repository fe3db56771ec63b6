/**
 * Which webhook URLs we send to (docs/webhooks.md "Which URLs are accepted").
 *
 * A webhook URL is chosen by a merchant, and our server sends requests to it: without a check, a URL
 * could point the dispatcher at the database, a metadata service (169.254.169.254) or anything else
 * only our network reaches (server-side request forgery). Outside local mode a URL is accepted only
 * when it is `https`, carries no credentials, and EVERY address its host resolves to is public
 * unicast: a host with one public and one private address is refused, as a connection may pick
 * either. The check runs when an endpoint is created or changed and again right before each
 * delivery, as DNS may have changed since.
 *
 * Local mode (JOBMOJITO_LOCAL=1) also accepts `http` and loopback addresses, so the local stack and
 * the tests deliver to a receiver on 127.0.0.1; every other rule still holds.
 *
 * Addresses are classified by ipaddr.js: only its `unicast` range (public) passes. That refuses
 * loopback, private (RFC 1918), unique-local, link-local (the metadata services), CGNAT (Alibaba's
 * metadata address), multicast, broadcast, unspecified, reserved and documentation ranges, and the
 * IPv6 forms that embed an IPv4 address (NAT64 64:ff9b::/96, 6to4, Teredo, IPv4-compatible); an
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the IPv4 address it maps.
 */

import ipaddr from "ipaddr.js";
import { lookup } from "node:dns/promises";

/** A host's addresses, as the connection would resolve them. */
export type Resolver = (hostname: string) => Promise<string[]>;

/** getaddrinfo, as fetch resolves: /etc/hosts first, then DNS, IPv4 and IPv6. */
export const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

export interface UrlSafetyOptions {
  /** Local mode: `http` and loopback addresses are accepted too. */
  local: boolean;
  /** Injected by tests so that no refusal needs a real DNS answer. */
  resolve?: Resolver;
}

export type UrlCheck =
  | { ok: true; url: URL; addresses: string[] }
  | { ok: false; reason: string };

/** Why `address` may not receive webhooks, or null when it may. */
export function addressRefusal(address: string, local: boolean): string | null {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  const range = parsed.range();
  if (range === "unicast") return null;
  if (range === "loopback" && local) return null;
  return `${address} is a ${range} address, not a public one`;
}

/** The host of a URL without IPv6 brackets: `[::1]` → `::1`. */
function bareHost(url: URL): string {
  return url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Whether webhooks may be sent to `raw`: the parsed URL and the addresses it resolved to, or the
 * reason it is refused. Nothing is connected to; only the resolver is asked (not at all for a
 * literal IP address).
 */
export async function checkWebhookUrl(raw: string, options: UrlSafetyOptions): Promise<UrlCheck> {
  if (!URL.canParse(raw)) return { ok: false, reason: "is not a URL" };
  const url = new URL(raw);
  const schemes = options.local ? ["https:", "http:"] : ["https:"];
  if (!schemes.includes(url.protocol)) {
    return { ok: false, reason: options.local ? "must be an http or https URL" : "must be an https URL" };
  }
  if (url.username || url.password) return { ok: false, reason: "must not carry a user name or password" };
  const host = bareHost(url);
  let addresses: string[];
  if (ipaddr.isValid(host)) {
    addresses = [host];
  } else {
    try {
      addresses = await (options.resolve ?? systemResolver)(host);
    } catch (err) {
      return { ok: false, reason: `host ${host} does not resolve (${(err as Error).message})` };
    }
    if (addresses.length === 0) return { ok: false, reason: `host ${host} does not resolve` };
  }
  for (const address of addresses) {
    const refusal = addressRefusal(address, options.local);
    if (refusal) return { ok: false, reason: `host ${host} is not public: ${refusal}` };
  }
  return { ok: true, url, addresses };
}
