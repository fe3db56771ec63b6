/**
 * Merchant API keys (docs/api-keys.md): their format, minting and digest. A key is
 * `jmk_` + 43 base62 characters (256 random bits): the prefix lets secret scanners
 * recognise a leaked one, and the database keeps only its SHA-256 digest.
 */
import { createHash } from "node:crypto";

export const API_KEY_PREFIX = "jmk_";
export const API_KEY_PATTERN = /^jmk_[0-9A-Za-z]{43}$/;
const BODY_LENGTH = 43;
/** What lists show of a key: the prefix and 8 characters, enough to tell keys apart, far from enough to use. */
const SHOWN_LENGTH = API_KEY_PREFIX.length + 8;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * The seeded Acme key (supabase/seed.sql, README "Seed data"): published, so accepted
 * only in local mode (JOBMOJITO_LOCAL=1), like Supabase's published local secrets.
 */
export const LOCAL_ACME_API_KEY = "jmk_LocalOnlyAcmeKeyPublishedInTheReadme0000000";

/** The key's SHA-256 digest, hex: what the database stores and looks keys up by. */
export function apiKeyDigest(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** A new key: the secret (shown once), the prefix lists show, and the digest to store. */
export function mintApiKey(): { key: string; prefix: string; digest: string } {
  let body = "";
  while (body.length < BODY_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(64))) {
      // 248 = 4 * 62: rejecting the rest keeps every character equally likely.
      if (byte < 248 && body.length < BODY_LENGTH) body += BASE62[byte % 62];
    }
  }
  const key = API_KEY_PREFIX + body;
  return { key, prefix: key.slice(0, SHOWN_LENGTH), digest: apiKeyDigest(key) };
}
