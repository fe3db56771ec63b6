/**
 * Webhook URL safety (SSRF): outside local mode only https URLs whose every resolved address is public are
 * accepted; local mode also accepts http and loopback. No test here connects to anything: addresses are
 * literal, or come from an injected resolver, and the check itself never connects.
 */
import assert from "node:assert/strict";
import {
  addressRefusal,
  checkWebhookUrl,
  type Resolver,
} from "../supabase/functions/_shared/webhooks/url_safety.ts";

/** A resolver answering from a table, recording what it was asked. */
function fakeDns(table: Record<string, string[]>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = (hostname: string) => {
    asked.push(hostname);
    const addresses = table[hostname];
    return addresses ? Promise.resolve(addresses) : Promise.reject(new Error("ENOTFOUND"));
  };
  return Object.assign(resolve, { asked });
}

/** Fails the test if a literal address is resolved at all. */
const noDns: Resolver = (hostname) => Promise.reject(new Error(`asked DNS for ${hostname}`));

const PUBLIC_V4 = "93.184.215.14";
const PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c";

Deno.test("a public https URL is accepted with the addresses its host resolves to", async () => {
  const dns = fakeDns({ "hooks.example.com": [PUBLIC_V4, PUBLIC_V6] });
  const check = await checkWebhookUrl("https://hooks.example.com/jobmojito?x=1", {
    local: false,
    resolve: dns,
  });
  assert.equal(check.ok, true);
  assert.deepEqual(check.ok && check.addresses, [PUBLIC_V4, PUBLIC_V6]);
  assert.deepEqual(dns.asked, ["hooks.example.com"]);
});

Deno.test("outside local mode http, credentials and non-URLs are refused before any lookup", async () => {
  for (
    const url of ["http://hooks.example.com/", "ftp://hooks.example.com/", "https://u:p@hooks.example.com/"]
  ) {
    const check = await checkWebhookUrl(url, { local: false, resolve: noDns });
    assert.equal(check.ok, false, url);
  }
  const bad = await checkWebhookUrl("not a url", { local: false, resolve: noDns });
  assert.deepEqual(bad, { ok: false, reason: "is not a URL" });
  const http = await checkWebhookUrl("http://hooks.example.com/", { local: false, resolve: noDns });
  assert.deepEqual(http, { ok: false, reason: "must be an https URL" });
});

Deno.test("literal non-public addresses are refused without a lookup, in every spelling", async () => {
  const refused = [
    "https://127.0.0.1/",
    "https://127.1/", // the URL parser normalises short, hex and decimal forms
    "https://0x7f000001/",
    "https://2130706433/",
    "https://10.0.0.5/",
    "https://172.16.3.4/",
    "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data/", // AWS, GCP, Azure metadata
    "https://100.100.100.200/", // Alibaba metadata (CGNAT)
    "https://100.64.0.1/",
    "https://192.0.0.192/", // Oracle metadata (IETF reserved)
    "https://0.0.0.0/",
    "https://224.0.0.1/",
    "https://255.255.255.255/",
    "https://[::1]/",
    "https://[::]/",
    "https://[fe80::1]/",
    "https://[fd00:ec2::254]/", // AWS IPv6 metadata (unique local)
    "https://[::ffff:127.0.0.1]/", // IPv4-mapped
    "https://[::ffff:169.254.169.254]/",
    "https://[64:ff9b::a9fe:a9fe]/", // NAT64 of 169.254.169.254
    "https://[2002:7f00:1::]/", // 6to4 of 127.0.0.1
    "https://[ff02::1]/",
  ];
  for (const url of refused) {
    const check = await checkWebhookUrl(url, { local: false, resolve: noDns });
    assert.equal(check.ok, false, url);
  }
  const literal = await checkWebhookUrl(`https://${PUBLIC_V4}/`, { local: false, resolve: noDns });
  assert.equal(literal.ok, true);
});

Deno.test("a host is refused if ANY of its addresses is not public (rebinding and split answers)", async () => {
  const table = {
    "mixed.example": [PUBLIC_V4, "10.1.2.3"],
    "v6-loopback.example": [PUBLIC_V4, "::1"],
    "metadata.example": ["169.254.169.254"],
    "mapped.example": ["::ffff:192.168.0.1"],
  };
  const dns = fakeDns(table);
  for (const host of Object.keys(table)) {
    const check = await checkWebhookUrl(`https://${host}/hook`, { local: false, resolve: dns });
    assert.equal(check.ok, false, host);
    assert.match(check.ok ? "" : check.reason, new RegExp(`host ${host} is not public`));
  }
  const missing = await checkWebhookUrl("https://nowhere.example/", { local: false, resolve: dns });
  assert.equal(missing.ok, false);
  assert.match(missing.ok ? "" : missing.reason, /does not resolve/);
});

Deno.test("local mode accepts http and loopback, and still refuses every other non-public address", async () => {
  const dns = fakeDns({ "receiver.test": ["127.0.0.1", "::1"], "lan.test": ["192.168.1.20"] });
  for (const url of ["http://127.0.0.1:8080/hook", "http://[::1]:8080/", "https://receiver.test/"]) {
    const check = await checkWebhookUrl(url, { local: true, resolve: dns });
    assert.equal(check.ok, true, url);
  }
  for (const url of ["http://10.0.0.1/", "http://169.254.169.254/", "http://lan.test/", "ftp://127.0.0.1/"]) {
    const check = await checkWebhookUrl(url, { local: true, resolve: dns });
    assert.equal(check.ok, false, url);
  }
  // Outside local mode loopback is refused like any other private address.
  const remote = await checkWebhookUrl("https://receiver.test/", { local: false, resolve: dns });
  assert.equal(remote.ok, false);
});

Deno.test("the system resolver reads /etc/hosts: localhost is loopback, accepted only in local mode", async () => {
  assert.equal((await checkWebhookUrl("http://localhost:9/", { local: true })).ok, true);
  assert.equal((await checkWebhookUrl("https://localhost:9/", { local: false })).ok, false);
});

Deno.test("addressRefusal names the range it refused", () => {
  assert.equal(addressRefusal(PUBLIC_V4, false), null);
  assert.equal(addressRefusal(PUBLIC_V6, false), null);
  assert.match(addressRefusal("10.0.0.1", false) ?? "", /private/);
  assert.match(addressRefusal("::1", false) ?? "", /loopback/);
  assert.equal(addressRefusal("::1", true), null);
  assert.match(addressRefusal("nonsense", true) ?? "", /not an IP address/);
});
