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
 *
 * Every variable is read through one zod schema (SETTINGS below): a value that
 * breaks its rule stops the start with the variable's name and the rule, all
 * of them at once. Each function requires only the settings it uses
 * (REQUIREMENTS, and the route modules' `*_REQUIRES`): the `openapi` function
 * starts without SMTP_URL, and reading a setting a function started without
 * throws, naming the variable.
 */

import { z } from "zod";
import { type EmailConfig, LOCAL_SMTP_PORT, parseReminderSchedule } from "./email/config.ts";
import type { LogLevel } from "./log.ts";
import type { WebhookConfig } from "./webhooks/config.ts";

/** The environment as the process sees it: names to values, unset names absent. */
export type Env = Record<string, string | undefined>;

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

/** HS256 wants a key at least as long as its hash (RFC 7518, 3.2): 32 bytes. */
export const MIN_SECRET_LENGTH = 32;

/**
 * The settings a function may require, each with the variables any one of which provides it. Outside
 * local mode a function refuses to start without one it requires. Hosted Supabase provides SUPABASE_URL
 * and SUPABASE_DB_URL itself; SMTP_URL and EMAIL_FROM_ADDRESS have defaults only locally (the local mail
 * catcher and a `.localhost` sender).
 */
export const REQUIREMENTS = {
  supabaseUrl: ["SUPABASE_URL"],
  databaseUrl: ["DATABASE_URL", "SUPABASE_DB_URL"],
  interviewTokenSecret: ["INTERVIEW_TOKEN_SECRET"],
  invitationTokenSecret: ["INVITATION_TOKEN_SECRET"],
  interviewBaseUrl: ["INTERVIEW_BASE_URL"],
  smtpUrl: ["SMTP_URL"],
  emailFromAddress: ["EMAIL_FROM_ADDRESS"],
} as const;
export type Requirement = keyof typeof REQUIREMENTS;
/** What the local gateway, the email worker and the tests run with: every function's requirements. */
export const ALL_REQUIREMENTS = Object.keys(REQUIREMENTS) as Requirement[];

/** The published local values that must never authenticate anything outside local mode. */
const PUBLISHED_SECRETS = [
  ["JWT_SECRET", LOCAL_JWT_SECRET],
  ["INTERVIEW_TOKEN_SECRET", LOCAL_INTERVIEW_TOKEN_SECRET],
  ["INVITATION_TOKEN_SECRET", LOCAL_INVITATION_TOKEN_SECRET],
] as const;

// The rules, each worded to follow the variable's name in an error ("DB_POOL_SIZE must be ...").
const boolean = z.stringbool({
  truthy: ["true", "1"],
  falsy: ["false", "0"],
  error: "must be true, false, 1 or 0",
});
const number = (min: number, options: { integer?: boolean; max?: number } = {}) => {
  const rule = `must be ${options.integer ? "an integer" : "a number"} >= ${min}` +
    (options.max === undefined ? "" : ` and <= ${options.max}`);
  const value = z.coerce.number({ error: rule }).min(min, { error: rule }).max(options.max ?? Infinity, {
    error: rule,
  });
  return options.integer ? value.int({ error: rule }) : value;
};
const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" })
  .transform((url) => url.replace(/\/$/, ""));
const secret = z.string().min(MIN_SECRET_LENGTH, {
  error: `must be at least ${MIN_SECRET_LENGTH} characters long`,
});
/** JSON text, then `rule` on what it holds. */
const json = <T extends z.ZodType>(rule: T) =>
  z.string().transform((raw, ctx) => {
    try {
      return JSON.parse(raw) as unknown;
    } catch (err) {
      ctx.addIssue({ code: "custom", message: `is not valid JSON (${(err as Error).message})` });
      return z.NEVER;
    }
  }).pipe(rule);
/**
 * A list of keys: a JSON object {name: key} (how Supabase's hosted runtime passes SUPABASE_SECRET_KEYS),
 * a JSON array, or comma-separated.
 */
const keyList = z.string().transform((raw, ctx) => {
  const trimmed = raw.trim();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) {
    return trimmed.split(",").map((s) => s.trim()).filter(Boolean);
  }
  try {
    const value = JSON.parse(trimmed) as unknown;
    return Array.isArray(value) ? value : Object.values(value as Record<string, unknown>);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: `is not valid JSON (${(err as Error).message})` });
    return z.NEVER;
  }
}).pipe(
  z.array(z.string(), { error: "must be a JSON object or array of strings, or a comma-separated list" }),
);
const jwks = json(
  z.union([
    z.array(z.record(z.string(), z.unknown())).transform((keys) => ({ keys })),
    z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
  ], { error: 'must be a JWKS ({"keys": [...]}) or an array of keys' }),
);
const duration = (text: string, ctx: z.RefinementCtx) => {
  try {
    return parseReminderSchedule(text);
  } catch (err) {
    ctx.addIssue({
      code: "custom",
      message: `must be durations such as 48h,120h, or none (${(err as Error).message})`,
    });
    return z.NEVER;
  }
};

/** Every variable the functions read, with its rule and default. README "Configuration" documents them. */
const SETTINGS = z.object({
  JOBMOJITO_LOCAL: boolean.default(false),
  // Set by hosted Supabase's edge runtime only.
  SB_REGION: z.string().optional(),
  SUPABASE_URL: httpUrl.optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\/\S+$/, {
    error: "must be a postgres:// or postgresql:// URL",
  })
    .optional(),
  SUPABASE_DB_URL: z.string().regex(/^postgres(ql)?:\/\/\S+$/, {
    error: "must be a postgres:// or postgresql:// URL",
  }).optional(),
  DB_PREPARE: boolean.optional(),
  DB_POOL_SIZE: number(1, { integer: true }).optional(),
  REQUEST_TIMEOUT_MS: number(100, { integer: true }).default(10_000),
  JWT_SECRET: secret.optional(),
  SECRET_KEYS: keyList.refine((keys) => keys.every((key) => key.startsWith(SECRET_KEY_PREFIX)), {
    error: `must list only ${SECRET_KEY_PREFIX}... keys`,
  }).optional(),
  // Supabase's local stack puts its legacy service_role JWT in this dictionary too; that is no secret
  // key (it authenticates as a JWT, with the JWT secret).
  SUPABASE_SECRET_KEYS: keyList.transform((keys) => keys.filter((key) => key.startsWith(SECRET_KEY_PREFIX)))
    .optional(),
  JWKS: jwks.optional(),
  SUPABASE_JWKS: jwks.optional(),
  JWKS_URL: httpUrl.optional(),
  JWKS_CACHE_SECONDS: number(0, { integer: true }).default(600),
  INTERVIEW_TOKEN_SECRET: secret.optional(),
  INTERVIEW_TOKEN_TTL_SECONDS: number(1, { integer: true }).default(30 * 24 * 3600),
  INTERVIEW_TOKEN_MAX_TTL_SECONDS: number(60, { integer: true }).default(90 * 24 * 3600),
  // An Idempotency-Key's answer is kept at least a day (docs/idempotency.md).
  IDEMPOTENCY_KEY_TTL_SECONDS: number(24 * 3600, { integer: true }).default(24 * 3600),
  INTERVIEW_BASE_URL: httpUrl.optional(),
  INVITATION_TOKEN_SECRET: secret.optional(),
  INVITATION_TTL_SECONDS: number(1, { integer: true }).default(7 * 24 * 3600),
  MAX_USERS_PER_REQUEST: number(1, { integer: true }).default(1000),
  MAX_BODY_BYTES: number(1, { integer: true }).default(2 * 1024 * 1024),
  CORS_ALLOWED_ORIGINS: keyList.default([]),
  // The reference page's script: Scalar's, pinned (its default is the unversioned latest); a deployment
  // may serve its own copy.
  API_REFERENCE_SCRIPT_URL: httpUrl.default(
    "https://cdn.jsdelivr.net/npm/@scalar/api-reference@1.72.1/dist/browser/standalone.js",
  ),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"], { error: "must be debug, info, warn or error" })
    .default("info"),
  LOG_REQUEST_SAMPLE_RATE: number(0, { max: 1 }).optional(),
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: "must be an smtp:// or smtps:// URL" }).optional(),
  EMAIL_FROM_ADDRESS: z.string().regex(/^[^@\s]+@[^@\s]+$/, { error: "must be an email address" }).optional(),
  EMAIL_FROM_NAME: z.string().default("JobMojito"),
  EMAIL_REPLY_TO: z.string().optional(),
  EMAIL_REMINDER_SCHEDULE: z.string().transform(duration).default(parseReminderSchedule("48h")),
  EMAIL_MAX_ATTEMPTS: number(1).default(12),
  EMAIL_RETRY_BASE_SECONDS: number(0).default(60),
  EMAIL_RETRY_MAX_SECONDS: number(0).default(3600),
  EMAIL_LEASE_SECONDS: number(1).default(300),
  EMAIL_BATCH_SIZE: number(1).default(50),
  EMAIL_CONCURRENCY: number(1).default(5),
  EMAIL_SEND_TIMEOUT_MS: number(100).default(30_000),
  EMAIL_POLL_INTERVAL_MS: number(10).default(2000),
  EMAIL_DISPATCH_BUDGET_SECONDS: number(1).default(50),
  EMAIL_DISPATCH_MAX_MESSAGES: number(1).default(500),
  // Webhooks (docs/webhooks.md): 21 attempts from one minute apart, doubling to 8 hours, about three days.
  WEBHOOK_MAX_ATTEMPTS: number(1).default(21),
  WEBHOOK_RETRY_BASE_SECONDS: number(0).default(60),
  WEBHOOK_RETRY_MAX_SECONDS: number(0).default(8 * 3600),
  WEBHOOK_LEASE_SECONDS: number(1).default(300),
  WEBHOOK_BATCH_SIZE: number(1).default(50),
  WEBHOOK_CONCURRENCY: number(1).default(10),
  WEBHOOK_TIMEOUT_MS: number(100).default(15_000),
  WEBHOOK_POLL_INTERVAL_MS: number(10).default(2000),
  WEBHOOK_DISPATCH_BUDGET_SECONDS: number(1).default(50),
  WEBHOOK_DISPATCH_MAX_DELIVERIES: number(1).default(500),
  WEBHOOK_DISABLE_AFTER_SECONDS: number(0).default(5 * 24 * 3600),
}).superRefine((s, ctx) => {
  const issue = (variable: string, message: string) =>
    ctx.addIssue({ code: "custom", path: [variable], message });
  // Local mode on hosted Supabase would fill the unset JWT_SECRET with the published one.
  if (s.JOBMOJITO_LOCAL && s.SB_REGION) {
    issue("JOBMOJITO_LOCAL", "is 1 on hosted Supabase: it would accept the published local secrets");
  }
  if (!s.JOBMOJITO_LOCAL) {
    for (const [name, value] of PUBLISHED_SECRETS) {
      if (s[name] === value) {
        issue(name, "is Supabase's published local-only value: set a secret of your own");
      }
    }
    for (const name of ["SECRET_KEYS", "SUPABASE_SECRET_KEYS"] as const) {
      if (s[name]?.includes(LOCAL_SECRET_KEY)) {
        issue(name, "includes the Supabase CLI's published local-only key");
      }
    }
  }
  // A dispatcher only starts a send with two send timeouts of lease left (one to send, one to record): a
  // shorter lease would leave it no time to send.
  if (s.EMAIL_LEASE_SECONDS * 1000 < 3 * s.EMAIL_SEND_TIMEOUT_MS) {
    issue("EMAIL_LEASE_SECONDS", "must be at least three times EMAIL_SEND_TIMEOUT_MS");
  }
  if (s.WEBHOOK_LEASE_SECONDS * 1000 < 3 * s.WEBHOOK_TIMEOUT_MS) {
    issue("WEBHOOK_LEASE_SECONDS", "must be at least three times WEBHOOK_TIMEOUT_MS");
  }
});

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
  /** The latest a request may ask its links to expire (link_expires_at), from now. */
  interviewTokenMaxTtlSeconds: number;
  /** Used when the merchant has no interview domain of its own (also for invitation accept links). */
  interviewBaseUrl: string;
  invitationTokenSecret: string;
  /** How long an invitation's accept link works. */
  invitationTtlSeconds: number;
  databaseUrl: string;
  /** Server-side prepared statements; off behind a transaction pooler (see poolerHint) and on hosted Supabase. */
  dbPrepare: boolean;
  /** Behind a transaction pooler (see poolerHint) or on hosted Supabase: no session state, so no LISTEN. */
  dbPooled: boolean;
  /** Connections per function instance. */
  dbPoolSize: number;
  /** How long a request may wait for the database; past it the answer is 503 and nothing is committed. */
  requestTimeoutMs: number;
  maxUsersPerRequest: number;
  maxBodyBytes: number;
  allowedOrigins: string[];
  /** How long an Idempotency-Key's first answer is kept (at least a day: docs/idempotency.md). */
  idempotencyKeyTtlSeconds: number;
  /** The script GET /openapi/reference loads (Scalar's API reference). */
  apiReferenceScriptUrl: string;
  /** The least severe log lines written. */
  logLevel: LogLevel;
  /** The share of successful requests whose access-log line is written (failures always are). */
  logRequestSampleRate: number;
  /** The invitation email chain: SMTP server, sender defaults, reminders, retries. */
  email: EmailConfig;
  /** Webhook delivery: retries, timeouts, dispatch pacing, when a failing endpoint is disabled. */
  webhooks: WebhookConfig;
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

/** "DB_POOL_SIZE must be ...; SMTP_URL must be ...": each variable with the rule it broke. */
function describeIssues(issues: z.core.$ZodIssue[]): string {
  return issues.map((issue) => {
    const [variable, ...inside] = issue.path.map(String);
    return `${variable}${inside.length > 0 ? `[${inside.join(".")}]` : ""} ${issue.message}`;
  }).join("; ");
}

/** A setting this function started without: reading it is a bug, and says which variable it lacks. */
function withoutSetting<T extends object>(
  target: T,
  key: keyof T & string,
  variables: readonly string[],
): void {
  Object.defineProperty(target, key, {
    enumerable: true,
    get() {
      throw new Error(`${variables.join(" or ")} is not set, and this function does not require it`);
    },
  });
}

/**
 * The configuration from `env`. Outside local mode each setting in `requires` must be set (a function
 * passes what it uses; the default is everything); the others may be absent.
 */
export function loadConfig(
  env: Env = Deno.env.toObject(),
  requires: readonly Requirement[] = ALL_REQUIREMENTS,
): Config {
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value));
  const localRequested = SETTINGS.shape.JOBMOJITO_LOCAL.safeParse(set.JOBMOJITO_LOCAL);
  const local = localRequested.success && localRequested.data;
  const parsed = SETTINGS.safeParse(local ? { ...LOCAL_DEFAULTS, ...set } : set);
  if (!parsed.success) throw new Error(describeIssues(parsed.error.issues));
  const s = parsed.data;

  const present: Record<Requirement, boolean> = {
    supabaseUrl: !!s.SUPABASE_URL,
    databaseUrl: !!(s.DATABASE_URL ?? s.SUPABASE_DB_URL),
    interviewTokenSecret: !!s.INTERVIEW_TOKEN_SECRET,
    invitationTokenSecret: !!s.INVITATION_TOKEN_SECRET,
    interviewBaseUrl: !!s.INTERVIEW_BASE_URL,
    // Local mode's defaults: the mail catcher `deno task start` runs, and a sender nobody can receive for.
    smtpUrl: local || !!s.SMTP_URL,
    emailFromAddress: local || !!s.EMAIL_FROM_ADDRESS,
  };
  const missing = requires.filter((requirement) => !present[requirement]);
  if (missing.length > 0) {
    throw new Error(
      `Missing configuration: ${missing.map((name) => REQUIREMENTS[name].join(" or ")).join(", ")} ` +
        `(README "Configuration"). For local development with Supabase's published local secrets, ` +
        `set JOBMOJITO_LOCAL=1.`,
    );
  }

  const hosted = !!s.SB_REGION;
  const database = poolerHint(s.DATABASE_URL ?? s.SUPABASE_DB_URL ?? "");
  const email: EmailConfig = {
    smtpUrl: s.SMTP_URL ?? `smtp://127.0.0.1:${LOCAL_SMTP_PORT}`,
    smtpConfigured: s.SMTP_URL !== undefined,
    fromAddress: s.EMAIL_FROM_ADDRESS ?? "no-reply@jobmojito.localhost",
    fromName: s.EMAIL_FROM_NAME,
    replyTo: s.EMAIL_REPLY_TO ?? null,
    reminderScheduleSeconds: s.EMAIL_REMINDER_SCHEDULE,
    maxAttempts: s.EMAIL_MAX_ATTEMPTS,
    retryBaseSeconds: s.EMAIL_RETRY_BASE_SECONDS,
    retryMaxSeconds: s.EMAIL_RETRY_MAX_SECONDS,
    leaseSeconds: s.EMAIL_LEASE_SECONDS,
    batchSize: s.EMAIL_BATCH_SIZE,
    concurrency: s.EMAIL_CONCURRENCY,
    sendTimeoutMs: s.EMAIL_SEND_TIMEOUT_MS,
    pollIntervalMs: s.EMAIL_POLL_INTERVAL_MS,
    dispatchBudgetSeconds: s.EMAIL_DISPATCH_BUDGET_SECONDS,
    dispatchMaxMessages: s.EMAIL_DISPATCH_MAX_MESSAGES,
  };
  const config: Config = {
    local,
    supabaseUrl: s.SUPABASE_URL ?? "",
    jwtSecret: s.JWT_SECRET ?? null,
    // A name a deployment sets wins over the one the platform injects (JWKS over SUPABASE_JWKS, ...).
    jwks: s.JWKS ?? s.SUPABASE_JWKS ?? null,
    jwksUrl: s.JWKS_URL ?? `${s.SUPABASE_URL}/auth/v1/.well-known/jwks.json`,
    jwksCacheSeconds: s.JWKS_CACHE_SECONDS,
    secretKeys: s.SECRET_KEYS ?? s.SUPABASE_SECRET_KEYS ?? [],
    interviewTokenSecret: s.INTERVIEW_TOKEN_SECRET ?? "",
    interviewTokenTtlSeconds: s.INTERVIEW_TOKEN_TTL_SECONDS,
    interviewTokenMaxTtlSeconds: s.INTERVIEW_TOKEN_MAX_TTL_SECONDS,
    interviewBaseUrl: s.INTERVIEW_BASE_URL ?? "",
    invitationTokenSecret: s.INVITATION_TOKEN_SECRET ?? "",
    invitationTtlSeconds: s.INVITATION_TTL_SECONDS,
    databaseUrl: database.url,
    // Hosted Supabase's injected SUPABASE_DB_URL may lead through its pooler: nothing there may depend
    // on a statement prepared by an earlier transaction (README "Deploying to Supabase").
    dbPrepare: s.DB_PREPARE ?? !(database.pooled || hosted),
    dbPooled: database.pooled || hosted,
    // Many small instances share the database (and the pooler's client limit) on hosted Supabase.
    dbPoolSize: s.DB_POOL_SIZE ?? (hosted ? 3 : 10),
    requestTimeoutMs: s.REQUEST_TIMEOUT_MS,
    maxUsersPerRequest: s.MAX_USERS_PER_REQUEST,
    maxBodyBytes: s.MAX_BODY_BYTES,
    allowedOrigins: s.CORS_ALLOWED_ORIGINS,
    idempotencyKeyTtlSeconds: s.IDEMPOTENCY_KEY_TTL_SECONDS,
    apiReferenceScriptUrl: s.API_REFERENCE_SCRIPT_URL,
    logLevel: s.LOG_LEVEL,
    // Hosted Supabase rate-limits each function's logs: one success in ten keeps failures from being dropped.
    logRequestSampleRate: s.LOG_REQUEST_SAMPLE_RATE ?? (hosted ? 0.1 : 1),
    email,
    webhooks: {
      maxAttempts: s.WEBHOOK_MAX_ATTEMPTS,
      retryBaseSeconds: s.WEBHOOK_RETRY_BASE_SECONDS,
      retryMaxSeconds: s.WEBHOOK_RETRY_MAX_SECONDS,
      leaseSeconds: s.WEBHOOK_LEASE_SECONDS,
      batchSize: s.WEBHOOK_BATCH_SIZE,
      concurrency: s.WEBHOOK_CONCURRENCY,
      sendTimeoutMs: s.WEBHOOK_TIMEOUT_MS,
      pollIntervalMs: s.WEBHOOK_POLL_INTERVAL_MS,
      dispatchBudgetSeconds: s.WEBHOOK_DISPATCH_BUDGET_SECONDS,
      dispatchMaxDeliveries: s.WEBHOOK_DISPATCH_MAX_DELIVERIES,
      disableAfterSeconds: s.WEBHOOK_DISABLE_AFTER_SECONDS,
    },
  };
  // What this function may go without: reading it says so, instead of passing on an empty value.
  if (!present.supabaseUrl) withoutSetting(config, "supabaseUrl", REQUIREMENTS.supabaseUrl);
  if (!present.supabaseUrl && !s.JWKS_URL) withoutSetting(config, "jwksUrl", ["JWKS_URL", "SUPABASE_URL"]);
  if (!present.databaseUrl) withoutSetting(config, "databaseUrl", REQUIREMENTS.databaseUrl);
  for (const key of ["interviewTokenSecret", "invitationTokenSecret", "interviewBaseUrl"] as const) {
    if (!present[key]) withoutSetting(config, key, REQUIREMENTS[key]);
  }
  if (!present.smtpUrl) withoutSetting(email, "smtpUrl", REQUIREMENTS.smtpUrl);
  if (!present.emailFromAddress) withoutSetting(email, "fromAddress", REQUIREMENTS.emailFromAddress);
  return config;
}
