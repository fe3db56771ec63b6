import { createHash, timingSafeEqual } from "node:crypto";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  type ExportedJWKSCache,
  type JSONWebKeySet,
  jwksCache,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";
import type postgres from "postgres";
import { API_KEY_PATTERN, API_KEY_PREFIX, apiKeyDigest, LOCAL_ACME_API_KEY } from "./api_keys/key.ts";
import { type Config, SECRET_KEY_PREFIX } from "./config.ts";
import { ApiError } from "./errors.ts";

/**
 * Who is calling: the service key (acts for any merchant it names), a user, with the email their token
 * was issued for (accepting an invitation needs it), or a merchant API key. A key is known here only by
 * its digest: the database checks it (exists, unrevoked, unexpired) in the SQL call that does the
 * request's work (callerSql, app.acting_merchant), so it costs no round trip of its own and a revocation holds on
 * the very next request of every instance (docs/api-keys.md).
 */
export type Caller =
  | { kind: "service" }
  | { kind: "user"; userId: string; email?: string }
  | { kind: "apiKey"; keyDigest: string };

/**
 * The caller as every request's SQL function takes it, as its first argument: `app.as_caller(account id,
 * API key digest)`, which gives the function the account id it takes (null for the service key and for a
 * key) and records the key's digest for the transaction, where `app.acting_merchant` checks it.
 */
export function callerSql(sql: postgres.ISql, caller: Caller): postgres.Fragment {
  return sql`app.as_caller(
    ${caller.kind === "user" ? caller.userId : null}::uuid,
    decode(${caller.kind === "apiKey" ? caller.keyDigest : null}, 'hex')
  )`;
}

/** Supabase's publishable keys name the project, not a caller: supabase-js sends one in `apikey`. */
const PUBLISHABLE_KEY_PREFIX = "sb_publishable_";
/** Where a credential may be, in the order they are read: the first that carries one is the caller. */
const CREDENTIAL_HEADERS = ["authorization", "x-api-key", "apikey"] as const;
const ASYMMETRIC_ALGS = new Set(["ES256", "RS256"]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The credential a request presents: `Authorization: Bearer`, else `x-api-key` (micro1's header), else
 * `apikey` (where supabase-js puts `sb_` keys). A publishable key is passed over, so `apikey:
 * <publishable key>` with `Authorization: Bearer <user JWT>` is the user, as on Supabase's own gateway.
 */
function presentedCredential(headers: Headers): string {
  for (const name of CREDENTIAL_HEADERS) {
    const value = headers.get(name)?.trim();
    if (!value) continue;
    let credential = value;
    if (name === "authorization") {
      const match = value.match(/^Bearer\s+(\S+)$/i);
      if (!match) throw unauthenticated("Authorization must be Bearer <credential>");
      credential = match[1];
    }
    if (!credential.startsWith(PUBLISHABLE_KEY_PREFIX)) return credential;
  }
  throw unauthenticated("Missing credential: Authorization: Bearer, x-api-key or apikey");
}

function unauthenticated(message: string): ApiError {
  return new ApiError(401, message, undefined, {
    "WWW-Authenticate": "Bearer",
  });
}

/** A digest, so keys of any length compare in constant time. */
function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/**
 * Builds the function that turns a request's headers into a Caller. Accepts,
 * per the spec: HS256 user or service_role JWTs (legacy projects), ES256/RS256
 * user JWTs checked against the project's JWKS (inline, or fetched once and
 * cached by jose), new-style `sb_secret_` keys, and merchant API keys (`jmk_`).
 */
export function createAuthenticator(
  config: Config,
): (headers: Headers) => Promise<Caller> {
  const secretKeyDigests = config.secretKeys.map(digest);
  const localApiKeyDigest = digest(LOCAL_ACME_API_KEY);
  // Imported once: handed raw bytes, jose imports a CryptoKey on every call (61 µs a
  // verification against 16 µs with the key imported).
  const hmacKey = config.jwtSecret
    ? crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(config.jwtSecret),
      {
        name: "HMAC",
        hash: "SHA-256",
      },
      false,
      ["verify"],
    )
    : null;
  const jwks = config.jwks
    ? createLocalJWKSet(config.jwks)
    : remoteKeySet(new URL(config.jwksUrl), config.jwksCacheSeconds);

  /**
   * Tokens verified lately, by their exact text: a client sends the same access token with every request
   * until it expires, and verifying it again (decoding, an asynchronous HMAC or signature check) was the
   * largest part of the API's own work on a single-user registration. An entry is used only before the
   * token's `exp` and for at most VERIFIED_TOKEN_TTL_MS, so a signing key dropped from the key set stops
   * verifying within that time, as it would with jose's own key set cache.
   */
  const verified = new Map<string, { claims: JWTPayload; until: number }>();

  async function verifyJwtOnce(token: string): Promise<JWTPayload> {
    const now = Date.now();
    const hit = verified.get(token);
    if (hit && now < hit.until) return hit.claims;
    verified.delete(token);
    const claims = await verifyJwt(token);
    if (verified.size >= VERIFIED_TOKENS_KEPT) verified.delete(verified.keys().next().value!);
    // jwtVerify required exp: a number of seconds since the epoch.
    verified.set(token, {
      claims,
      until: Math.min((claims.exp as number) * 1000, now + VERIFIED_TOKEN_TTL_MS),
    });
    return claims;
  }

  async function verifyJwt(token: string): Promise<JWTPayload> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw unauthenticated("Malformed token");
    }
    try {
      if (alg === "HS256" && hmacKey) {
        return (await jwtVerify(token, await hmacKey, {
          algorithms: ["HS256"],
          requiredClaims: ["exp"],
        })).payload;
      }
      if (alg && ASYMMETRIC_ALGS.has(alg)) {
        return (await jwtVerify(token, jwks, {
          algorithms: [alg],
          requiredClaims: ["exp"],
        })).payload;
      }
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) {
        throw unauthenticated("Token expired");
      }
      if (keySetUnavailable(err)) {
        // No key set to check against: the token may well be valid, so this is not a 401.
        throw new ApiError(
          503,
          "Signing keys unavailable, retry later",
          undefined,
          { "Retry-After": "5" },
        );
      }
      throw unauthenticated("Invalid token");
    }
    throw unauthenticated("Unsupported token algorithm");
  }

  return async (headers) => {
    const credential = presentedCredential(headers);

    if (credential.startsWith(SECRET_KEY_PREFIX)) {
      const presented = digest(credential);
      // Compare against every key so timing does not reveal which one matched.
      const matched = secretKeyDigests.reduce(
        (found, key) => timingSafeEqual(presented, key) || found,
        false,
      );
      if (!matched) throw unauthenticated("Invalid API key");
      return { kind: "service" };
    }

    if (credential.startsWith(API_KEY_PREFIX)) {
      if (!API_KEY_PATTERN.test(credential)) throw unauthenticated("Invalid API key");
      if (!config.local && timingSafeEqual(digest(credential), localApiKeyDigest)) {
        throw unauthenticated("The published local-only API key is refused outside local mode");
      }
      return { kind: "apiKey", keyDigest: apiKeyDigest(credential) };
    }

    const claims = await verifyJwtOnce(credential);
    if (claims.role === "service_role") return { kind: "service" };
    if (
      // Supabase Auth's user ids are UUIDs: any other subject is no known user.
      claims.role === "authenticated" && typeof claims.sub === "string" && UUID.test(claims.sub)
    ) {
      return typeof claims.email === "string" && claims.email !== ""
        ? { kind: "user", userId: claims.sub, email: claims.email }
        : { kind: "user", userId: claims.sub };
    }
    throw unauthenticated("Unauthenticated user");
  };
}

/**
 * The project's key set from its URL, through jose's cache: fetched once, again after `cacheSeconds` or for
 * a key id it does not know. When a refetch fails, the keys fetched last keep verifying, so an outage of the
 * key endpoint does not turn valid tokens away; only a process that never fetched them answers 503. After a
 * failed refetch the endpoint is left alone for KEY_ENDPOINT_COOLDOWN_MS: otherwise every request would
 * ask it again, and wait out its timeout when it hangs.
 */
function remoteKeySet(url: URL, cacheSeconds: number): JWTVerifyGetKey {
  // jose records every successful fetch here.
  const lastFetched: ExportedJWKSCache = { uat: 0, jwks: { keys: [] } };
  const remote = createRemoteJWKSet(url, { cacheMaxAge: cacheSeconds * 1000, [jwksCache]: lastFetched });
  let fallback: { jwks: JSONWebKeySet; keys: JWTVerifyGetKey } | undefined;
  let failedAt = -Infinity;
  const lastKeys = () => {
    if (fallback?.jwks !== lastFetched.jwks) {
      fallback = { jwks: lastFetched.jwks, keys: createLocalJWKSet(lastFetched.jwks) };
    }
    return fallback.keys;
  };
  return async (header, token) => {
    const haveKeys = lastFetched.uat > 0;
    if (haveKeys && performance.now() - failedAt < KEY_ENDPOINT_COOLDOWN_MS) {
      return await lastKeys()(header, token);
    }
    try {
      return await remote(header, token);
    } catch (err) {
      if (!keySetUnavailable(err) || !haveKeys) throw err;
      failedAt = performance.now();
      return await lastKeys()(header, token);
    }
  };
}
const KEY_ENDPOINT_COOLDOWN_MS = 30_000;

/** How many verified tokens an instance remembers, and for how long at most (auth.ts verifyJwtOnce). */
const VERIFIED_TOKENS_KEPT = 1000;
const VERIFIED_TOKEN_TTL_MS = 60_000;

/**
 * Whether verification failed for want of a key set rather than because of the token: the endpoint did
 * not answer, answered other than 200 or with something that is not a key set. jose raises its generic
 * error class only for those two answers; every bad token gets a subclass.
 */
function keySetUnavailable(err: unknown): boolean {
  return !(err instanceof joseErrors.JOSEError) || err instanceof joseErrors.JWKSTimeout ||
    err instanceof joseErrors.JWKSInvalid || err.code === joseErrors.JOSEError.code;
}
