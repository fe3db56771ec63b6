/**
 * Deployment configuration, read once from the environment.
 *
 * The well-known local secrets below (the ones Supabase's local stack
 * publishes) fill in unset settings only when the environment says the
 * deployment is local: JOBMOJITO_LOCAL=1, which `deno task start`, `deno task
 * test`, `deno task bench` and the test server set. Anywhere else nothing is filled in: without
 * an HS256 secret HS256 tokens are refused, without secret keys `sb_secret_`
 * keys are, and a setting nothing can work without is a startup error naming
 * it. README "Configuration" lists which variables hosted Supabase provides
 * and which a deployment sets.
 */

import { type EmailConfig, loadEmailConfig } from "./email/config.ts";
import { type Env, envBoolean, envNumber } from "./env.ts";

/** Supabase's published local-only JWT secret (`supabase start` uses it too). */
export const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
/** Supabase's published local-only legacy `service_role` key (HS256 over LOCAL_JWT_SECRET). */
export const LOCAL_SERVICE_ROLE_JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU";
/** Supabase's published local-only legacy `anon` key: a valid JWT that may not register anyone. */
export const LOCAL_ANON_JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0";
/** How Supabase's new-style secret keys begin: SECRET_KEYS lists only such keys, and auth.ts tells them from JWTs. */
export const SECRET_KEY_PREFIX = "sb_secret_";
/** Supabase CLI's local-only new-style secret key. */
export const LOCAL_SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";
/** Local-only secret for interview tokens; deliberately not the JWT secret. */
export const LOCAL_INTERVIEW_TOKEN_SECRET = "local-only-interview-token-secret-change-me-0123456789";
/** Local-only secret for invitation accept links; deliberately neither the JWT nor the interview token secret. */
export const LOCAL_INVITATION_TOKEN_SECRET = "local-only-invitation-token-secret-change-me-0123456789";
export const LOCAL_DB_URL = "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
export const LOCAL_API_PORT = 54321;

/** The environment that marks a deployment as local: the published local values fill in what is unset. */
export const LOCAL_ENV = { JOBMOJITO_LOCAL: "1" } as const;

/**
 * What local mode fills in. Each value sits under the name that yields to the others of its setting
 * (SUPABASE_DB_URL yields to DATABASE_URL, SUPABASE_SECRET_KEYS to SECRET_KEYS), so whatever the
 * environment does set still wins.
 */
const LOCAL_DEFAULTS: Env = {
  SUPABASE_URL: `http://127.0.0.1:${LOCAL_API_PORT}`,
  SUPABASE_DB_URL: LOCAL_DB_URL,
  JWT_SECRET: LOCAL_JWT_SECRET,
  SUPABASE_SECRET_KEYS: LOCAL_SECRET_KEY,
  INTERVIEW_TOKEN_SECRET: LOCAL_INTERVIEW_TOKEN_SECRET,
  INVITATION_TOKEN_SECRET: LOCAL_INVITATION_TOKEN_SECRET,
  INTERVIEW_BASE_URL: "http://localhost:3000",
};

/**
 * What a deployment that is not local must have; any one name of an entry will do. Hosted Supabase
 * provides SUPABASE_URL and SUPABASE_DB_URL itself. SMTP_URL and EMAIL_FROM_ADDRESS are here because
 * email/config.ts's defaults for them are the local mail catcher and a `.localhost` sender.
 */
const REQUIRED_OUTSIDE_LOCAL = [
  ["SUPABASE_URL"],
  ["DATABASE_URL", "SUPABASE_DB_URL"],
  ["INTERVIEW_TOKEN_SECRET"],
  ["INVITATION_TOKEN_SECRET"],
  ["INTERVIEW_BASE_URL"],
  ["SMTP_URL"],
  ["EMAIL_FROM_ADDRESS"],
];

/** HS256 wants a key at least as long as its hash (RFC 7518, 3.2): 32 bytes. */
export const MIN_SECRET_LENGTH = 32;

/** The published local values that must never authenticate anything outside local mode. */
const PUBLISHED_SECRETS: [name: string, value: string][] = [
  ["JWT_SECRET", LOCAL_JWT_SECRET],
  ["INTERVIEW_TOKEN_SECRET", LOCAL_INTERVIEW_TOKEN_SECRET],
  ["INVITATION_TOKEN_SECRET", LOCAL_INVITATION_TOKEN_SECRET],
];

/**
 * Refuses what would let anyone mint credentials: local mode on hosted Supabase (it would fill the
 * unset JWT_SECRET with the published one), a published local secret or key outside local mode, and an
 * HS256 secret too short to be one.
 */
function checkSecrets(settings: Env, local: boolean, secretKeys: string[]): void {
  // SB_REGION is set by hosted Supabase's edge runtime only.
  if (local && settings.SB_REGION) {
    throw new Error("JOBMOJITO_LOCAL=1 on hosted Supabase: it would accept the published local secrets");
  }
  if (!local) {
    for (const [name, value] of PUBLISHED_SECRETS) {
      if (settings[name] === value) {
        throw new Error(`${name} is Supabase's published local-only value: set a secret of your own`);
      }
    }
    if (secretKeys.includes(LOCAL_SECRET_KEY)) {
      throw new Error("The secret keys include the Supabase CLI's published local-only key");
    }
  }
  for (const [name] of PUBLISHED_SECRETS) {
    const value = settings[name];
    if (value !== undefined && value.length < MIN_SECRET_LENGTH) {
      throw new Error(`${name} must be at least ${MIN_SECRET_LENGTH} characters long`);
    }
  }
}

export interface Config {
  /** JOBMOJITO_LOCAL=1: the published local values are accepted (the seeded API key too). */
  local: boolean;
  supabaseUrl: string;
  /** HS256 secret for legacy user and service_role JWTs; null refuses HS256 tokens. */
  jwtSecret: string | null;
  /** Inline JWKS for ES256/RS256 user JWTs; takes precedence over jwksUrl. */
  jwks: { keys: Record<string, unknown>[] } | null;
  jwksUrl: string;
  /** How long keys fetched from jwksUrl are used before they are fetched again. */
  jwksCacheSeconds: number;
  /** Accepted new-style `sb_secret_...` keys; none refuses them all. */
  secretKeys: string[];
  interviewTokenSecret: string;
  interviewTokenTtlSeconds: number;
  /** Used when the merchant has no interview domain of its own (also for invitation accept links). */
  interviewBaseUrl: string;
  invitationTokenSecret: string;
  /** How long an invitation's accept link works. */
  invitationTtlSeconds: number;
  databaseUrl: string;
  /** Server-side prepared statements; off behind a transaction pooler (see poolerHint). */
  dbPrepare: boolean;
  /** Behind a transaction pooler (see poolerHint): no session state, so no LISTEN either. */
  dbPooled: boolean;
  dbPoolSize: number;
  /** How long a request may wait for the database; past it the answer is 503 and nothing is committed. */
  requestTimeoutMs: number;
  maxUsersPerRequest: number;
  maxBodyBytes: number;
  allowedOrigins: string[];
  /** The invitation email chain: SMTP server, sender defaults, reminders, retries. */
  email: EmailConfig;
}

function list(raw: string | undefined): string[] {
  if (!raw) return [];
  const trimmed = raw.trim();
  // Supabase's hosted runtime passes SUPABASE_SECRET_KEYS as a JSON object {name: key}.
  if (trimmed.startsWith("{")) {
    return Object.values(JSON.parse(trimmed) as Record<string, string>);
  }
  if (trimmed.startsWith("[")) return JSON.parse(trimmed) as string[];
  return trimmed.split(",").map((s) => s.trim()).filter(Boolean);
}

/** SECRET_KEYS (yours) or else SUPABASE_SECRET_KEYS (the platform's): the accepted `sb_secret_` keys. */
function secretKeys(env: Env): string[] {
  if (env.SECRET_KEYS) {
    const keys = list(env.SECRET_KEYS);
    if (keys.some((key) => !key.startsWith(SECRET_KEY_PREFIX))) {
      throw new Error(`SECRET_KEYS must list only ${SECRET_KEY_PREFIX}... keys`);
    }
    return keys;
  }
  // Supabase's local stack puts its legacy service_role JWT in this dictionary too; that is no secret
  // key (it authenticates as a JWT, with the JWT secret).
  return list(env.SUPABASE_SECRET_KEYS).filter((key) => key.startsWith(SECRET_KEY_PREFIX));
}

/** A JWKS given as JSON: `{"keys": [...]}`, or the bare array of keys. */
function parseJwks(name: string, raw: string): { keys: Record<string, unknown>[] } {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error(`${name} is not valid JSON`);
  }
  const keys = Array.isArray(value) ? value : (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error(`${name} must be a JWKS ({"keys": [...]}) or an array of keys`);
  return { keys };
}

/**
 * A transaction pooler hands each transaction to whichever server connection is free, so a statement
 * prepared on one connection is missing on the next: prepared statements default to off behind one.
 * Supabase's pooler takes transactions on port 6543; `pgbouncer=true` in the URL (Prisma's convention,
 * which Supabase's connection strings use) marks any other. The hint is taken out of the URL because
 * postgres.js would send it to the server as a setting, which PostgreSQL rejects.
 */
export function poolerHint(url: string): { url: string; pooled: boolean } {
  // postgres.js's multi-host form (host1:5432,host2:5432) is no WHATWG URL: it has no hint to find.
  if (!URL.canParse(url)) return { url, pooled: false };
  const parsed = new URL(url);
  const hint = parsed.searchParams.get("pgbouncer");
  const pooled = hint === "true" || parsed.port === "6543";
  if (hint === null) return { url, pooled };
  parsed.searchParams.delete("pgbouncer");
  return { url: parsed.toString(), pooled };
}

export function loadConfig(env: Env = Deno.env.toObject()): Config {
  const local = envBoolean(env, "JOBMOJITO_LOCAL", false);
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value));
  const settings: Env = local ? { ...LOCAL_DEFAULTS, ...set } : set;
  if (!local) {
    const missing = REQUIRED_OUTSIDE_LOCAL.filter((names) => names.every((name) => !settings[name]));
    if (missing.length > 0) {
      throw new Error(
        `Missing configuration: ${missing.map((names) => names.join(" or ")).join(", ")} ` +
          `(README "Configuration"). For local development with Supabase's published local secrets, ` +
          `set JOBMOJITO_LOCAL=1.`,
      );
    }
  }
  // From here on every REQUIRED_OUTSIDE_LOCAL setting is present: checked above, or filled in locally.
  const supabaseUrl = settings.SUPABASE_URL!.replace(/\/$/, "");
  // A name a deployment sets wins over the one the platform injects (JWKS over SUPABASE_JWKS, ...).
  const jwksVariable = settings.JWKS ? "JWKS" : "SUPABASE_JWKS";
  const jwks = settings[jwksVariable];
  const database = poolerHint((settings.DATABASE_URL ?? settings.SUPABASE_DB_URL)!);
  const acceptedSecretKeys = secretKeys(settings);
  checkSecrets(settings, local, acceptedSecretKeys);
  return {
    local,
    supabaseUrl,
    jwtSecret: settings.JWT_SECRET ?? null,
    jwks: jwks ? parseJwks(jwksVariable, jwks) : null,
    jwksUrl: settings.JWKS_URL ?? `${supabaseUrl}/auth/v1/.well-known/jwks.json`,
    jwksCacheSeconds: envNumber(settings, "JWKS_CACHE_SECONDS", 600, { min: 0, integer: true }),
    secretKeys: acceptedSecretKeys,
    interviewTokenSecret: settings.INTERVIEW_TOKEN_SECRET!,
    interviewTokenTtlSeconds: envNumber(settings, "INTERVIEW_TOKEN_TTL_SECONDS", 30 * 24 * 3600, {
      min: 1,
      integer: true,
    }),
    interviewBaseUrl: settings.INTERVIEW_BASE_URL!.replace(/\/$/, ""),
    invitationTokenSecret: settings.INVITATION_TOKEN_SECRET!,
    invitationTtlSeconds: envNumber(settings, "INVITATION_TTL_SECONDS", 7 * 24 * 3600, {
      min: 1,
      integer: true,
    }),
    databaseUrl: database.url,
    dbPrepare: envBoolean(settings, "DB_PREPARE", !database.pooled),
    dbPooled: database.pooled,
    dbPoolSize: envNumber(settings, "DB_POOL_SIZE", 10, { min: 1, integer: true }),
    requestTimeoutMs: envNumber(settings, "REQUEST_TIMEOUT_MS", 10_000, { min: 100, integer: true }),
    maxUsersPerRequest: envNumber(settings, "MAX_USERS_PER_REQUEST", 1000, { min: 1, integer: true }),
    maxBodyBytes: envNumber(settings, "MAX_BODY_BYTES", 2 * 1024 * 1024, { min: 1, integer: true }),
    allowedOrigins: list(settings.CORS_ALLOWED_ORIGINS),
    email: loadEmailConfig(settings),
  };
}
