/**
 * Deployment configuration, read once from the environment.
 *
 * Every secret has a well-known local default (the same ones Supabase's local
 * stack publishes) so `deno task start` works with no setup. A real
 * deployment must override them: see README "Configuration".
 */

import { type EmailConfig, loadEmailConfig } from "./email/config.ts";

/** Supabase's published local-only JWT secret (`supabase start` uses it too). */
export const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
/** Supabase's published local-only legacy `service_role` key (HS256 over LOCAL_JWT_SECRET). */
export const LOCAL_SERVICE_ROLE_JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU";
/** Supabase's published local-only legacy `anon` key: a valid JWT that may not register anyone. */
export const LOCAL_ANON_JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0";
/** Supabase CLI's local-only new-style secret key. */
export const LOCAL_SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz";
/** Local-only secret for interview tokens; deliberately not the JWT secret. */
export const LOCAL_INTERVIEW_TOKEN_SECRET = "local-only-interview-token-secret-change-me-0123456789";
/** Local-only secret for invitation accept links; deliberately neither the JWT nor the interview token secret. */
export const LOCAL_INVITATION_TOKEN_SECRET = "local-only-invitation-token-secret-change-me-0123456789";
export const LOCAL_DB_URL = "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
export const LOCAL_API_PORT = 54321;

export interface Config {
  supabaseUrl: string;
  /** HS256 secret for legacy user and service_role JWTs; null disables HS256. */
  jwtSecret: string | null;
  /** Inline JWKS (JSON) for ES256/RS256 user JWTs; takes precedence over jwksUrl. */
  jwks: { keys: Record<string, unknown>[] } | null;
  jwksUrl: string;
  /** Accepted new-style `sb_secret_...` keys. */
  secretKeys: string[];
  interviewTokenSecret: string;
  interviewTokenTtlSeconds: number;
  /** Used when the merchant has no interview domain of its own (also for invitation accept links). */
  interviewBaseUrl: string;
  invitationTokenSecret: string;
  /** How long an invitation's accept link works. */
  invitationTtlSeconds: number;
  databaseUrl: string;
  dbPoolSize: number;
  maxUsersPerRequest: number;
  maxBodyBytes: number;
  allowedOrigins: string[];
  /** The invitation email chain: SMTP server, sender defaults, reminders, retries. */
  email: EmailConfig;
}

type Env = Record<string, string | undefined>;

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer`);
  }
  return value;
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

export function loadConfig(env: Env = Deno.env.toObject()): Config {
  const supabaseUrl = (env.SUPABASE_URL ?? `http://127.0.0.1:${LOCAL_API_PORT}`)
    .replace(/\/$/, "");
  const secretKeys = list(env.SUPABASE_SECRET_KEYS ?? env.SUPABASE_SECRET_KEY);
  return {
    supabaseUrl,
    jwtSecret: env.SUPABASE_JWT_SECRET ?? env.JWT_SECRET ?? LOCAL_JWT_SECRET,
    jwks: env.SUPABASE_JWKS ? JSON.parse(env.SUPABASE_JWKS) : null,
    jwksUrl: env.SUPABASE_JWKS_URL ??
      `${supabaseUrl}/auth/v1/.well-known/jwks.json`,
    secretKeys: secretKeys.length > 0 ? secretKeys : [LOCAL_SECRET_KEY],
    interviewTokenSecret: env.INTERVIEW_TOKEN_SECRET ??
      LOCAL_INTERVIEW_TOKEN_SECRET,
    interviewTokenTtlSeconds: positiveInt(
      env,
      "INTERVIEW_TOKEN_TTL_SECONDS",
      30 * 24 * 3600,
    ),
    interviewBaseUrl: (env.INTERVIEW_BASE_URL ?? "http://localhost:3000")
      .replace(/\/$/, ""),
    invitationTokenSecret: env.INVITATION_TOKEN_SECRET ?? LOCAL_INVITATION_TOKEN_SECRET,
    invitationTtlSeconds: positiveInt(env, "INVITATION_TTL_SECONDS", 7 * 24 * 3600),
    databaseUrl: env.SUPABASE_DB_URL ?? env.DATABASE_URL ?? LOCAL_DB_URL,
    dbPoolSize: positiveInt(env, "DB_POOL_SIZE", 10),
    maxUsersPerRequest: positiveInt(env, "MAX_USERS_PER_REQUEST", 1000),
    maxBodyBytes: positiveInt(env, "MAX_BODY_BYTES", 2 * 1024 * 1024),
    allowedOrigins: list(env.CORS_ALLOWED_ORIGINS),
    email: loadEmailConfig(env),
  };
}
