/**
 * Configuration: the published local secrets apply only where the environment says the deployment is local
 * (JOBMOJITO_LOCAL=1); anywhere else what is missing stays missing, and what nothing can work without stops
 * the start. Also the platform's variable formats and the database settings.
 */
import assert from "node:assert/strict";
import {
  type Config,
  loadConfig,
  LOCAL_DB_URL,
  LOCAL_ENV,
  LOCAL_INTERVIEW_TOKEN_SECRET,
  LOCAL_INVITATION_TOKEN_SECRET,
  LOCAL_JWT_SECRET,
  LOCAL_SECRET_KEY,
  LOCAL_SERVICE_ROLE_JWT,
  MIN_SECRET_LENGTH,
} from "../supabase/functions/_shared/config.ts";
import { createRuntime } from "../supabase/functions/_shared/runtime.ts";
import { FUNCTION_DEFINITIONS } from "../supabase/functions/_shared/functions.ts";
import { REQUIREMENTS } from "../supabase/functions/_shared/config.ts";
import { asymmetricSigner, userToken } from "./_support/credentials.ts";
import { createMerchant } from "./_support/fixtures.ts";
import { callFunction } from "./_support/http.ts";
import { startTestServer } from "./_support/server.ts";

/** The test database, as the test server finds it. */
const databaseUrl = loadConfig({ ...Deno.env.toObject(), ...LOCAL_ENV }).databaseUrl;

/** What a hosted project's functions get without anyone setting a thing (Supabase's default secrets). */
const HOSTED_DEFAULTS = {
  SUPABASE_URL: "https://abcdefghijklmnop.supabase.co",
  SUPABASE_DB_URL: databaseUrl,
  SUPABASE_ANON_KEY: "eyJ.anon.legacy",
  SUPABASE_SERVICE_ROLE_KEY: "eyJ.service_role.legacy",
  SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: "sb_publishable_abc" }),
  SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_hosted_default_key_0123" }),
};
/** What the deployment sets itself (`supabase secrets set`). */
const DEPLOYMENT_SECRETS = {
  INTERVIEW_TOKEN_SECRET: "hosted-interview-token-secret-0123456789abcdef",
  INVITATION_TOKEN_SECRET: "hosted-invitation-token-secret-0123456789abcdef",
  INTERVIEW_BASE_URL: "https://interview.example.com",
  SMTP_URL: "smtps://mailer:pw@smtp.example.com:465",
  EMAIL_FROM_ADDRESS: "no-reply@jobs.example.com",
};
const PRODUCTION = { ...HOSTED_DEFAULTS, ...DEPLOYMENT_SECRETS };

Deno.test("outside local mode, loadConfig refuses to start without what it needs, naming every variable", () => {
  assert.throws(
    () => loadConfig({}),
    (err: Error) => {
      for (
        const name of [
          "SUPABASE_URL",
          "DATABASE_URL or SUPABASE_DB_URL",
          "INTERVIEW_TOKEN_SECRET",
          "INVITATION_TOKEN_SECRET",
          "INTERVIEW_BASE_URL",
          "SMTP_URL",
          "EMAIL_FROM_ADDRESS",
        ]
      ) assert.match(err.message, new RegExp(`\\b${name}\\b`), name);
      assert.match(err.message, /JOBMOJITO_LOCAL=1/);
      return true;
    },
  );
  // On hosted Supabase the platform's variables are there: only what the deployment sets is missing.
  assert.throws(
    () => loadConfig(HOSTED_DEFAULTS),
    (err: Error) => {
      assert.doesNotMatch(err.message, /SUPABASE_URL|DB_URL/);
      assert.match(
        err.message,
        /INTERVIEW_TOKEN_SECRET, INVITATION_TOKEN_SECRET, INTERVIEW_BASE_URL, SMTP_URL/,
      );
      return true;
    },
  );
  // An empty value is no value.
  assert.throws(() => loadConfig({ ...PRODUCTION, SMTP_URL: "" }), /Missing configuration: SMTP_URL\b/);
  // Anything but an explicit local flag is production.
  assert.throws(() => loadConfig({ JOBMOJITO_LOCAL: "0" }), /Missing configuration/);
  assert.throws(() => loadConfig({ JOBMOJITO_LOCAL: "yes" }), /JOBMOJITO_LOCAL must be/);
});

Deno.test("a hosted deployment with its secrets set starts, and not one local secret is in its config", () => {
  const config = loadConfig(PRODUCTION);
  assert.equal(config.supabaseUrl, HOSTED_DEFAULTS.SUPABASE_URL);
  assert.equal(config.databaseUrl, databaseUrl);
  assert.equal(config.interviewTokenSecret, DEPLOYMENT_SECRETS.INTERVIEW_TOKEN_SECRET);
  assert.equal(config.invitationTokenSecret, DEPLOYMENT_SECRETS.INVITATION_TOKEN_SECRET);
  assert.equal(config.email.smtpUrl, DEPLOYMENT_SECRETS.SMTP_URL);
  assert.equal(config.email.smtpConfigured, true);
  // No HS256 secret: HS256 tokens are refused. The platform's secret keys are the accepted ones.
  assert.equal(config.jwtSecret, null);
  assert.deepEqual(config.secretKeys, ["sb_secret_hosted_default_key_0123"]);
  assert.equal(config.jwks, null);
  assert.equal(config.jwksUrl, `${HOSTED_DEFAULTS.SUPABASE_URL}/auth/v1/.well-known/jwks.json`);
  const text = JSON.stringify(config);
  for (
    const secret of [
      LOCAL_JWT_SECRET,
      LOCAL_SECRET_KEY,
      LOCAL_INTERVIEW_TOKEN_SECRET,
      LOCAL_INVITATION_TOKEN_SECRET,
    ]
  ) assert.ok(!text.includes(secret), secret);
});

Deno.test(
  "secrets anyone could know are refused: local mode on hosted Supabase, published values, short secrets",
  () => {
    // Hosted Supabase sets SB_REGION; local mode there would fill the unset JWT_SECRET with the published one.
    assert.throws(
      () => loadConfig({ ...PRODUCTION, ...LOCAL_ENV, SB_REGION: "eu-central-1" }),
      /JOBMOJITO_LOCAL is 1 on hosted Supabase/,
    );
    assert.doesNotThrow(() => loadConfig({ ...PRODUCTION, SB_REGION: "eu-central-1" }));
    for (
      const [name, value] of [
        ["JWT_SECRET", LOCAL_JWT_SECRET],
        ["INTERVIEW_TOKEN_SECRET", LOCAL_INTERVIEW_TOKEN_SECRET],
        ["INVITATION_TOKEN_SECRET", LOCAL_INVITATION_TOKEN_SECRET],
      ]
    ) {
      assert.throws(
        () => loadConfig({ ...PRODUCTION, [name]: value }),
        new RegExp(`^Error: ${name} is Supabase's published local-only value`),
      );
      assert.throws(
        () => loadConfig({ ...PRODUCTION, [name]: "x".repeat(MIN_SECRET_LENGTH - 1) }),
        new RegExp(`^Error: ${name} must be at least 32 characters long`),
      );
      // Too short is too short in local mode as well.
      assert.throws(
        () => loadConfig({ ...LOCAL_ENV, [name]: "short" }),
        new RegExp(`^Error: ${name} must be at least 32 characters long`),
      );
      assert.equal(
        loadConfig({ ...PRODUCTION, [name]: "y".repeat(MIN_SECRET_LENGTH) }).jwtSecret,
        name === "JWT_SECRET" ? "y".repeat(MIN_SECRET_LENGTH) : null,
      );
    }
    for (
      const keys of [
        { SECRET_KEYS: `sb_secret_mine_0123456789,${LOCAL_SECRET_KEY}` },
        { SUPABASE_SECRET_KEYS: JSON.stringify({ default: LOCAL_SECRET_KEY }) },
      ]
    ) {
      assert.throws(() => loadConfig({ ...PRODUCTION, ...keys }), /published local-only key/);
    }
  },
);

Deno.test("names hosted Supabase lets a deployment set: JWT_SECRET, SECRET_KEYS, JWKS, JWKS_URL", async () => {
  const es256 = await asymmetricSigner("ES256");
  const config = loadConfig({
    ...PRODUCTION,
    JWT_SECRET: "project-jwt-secret-0123456789abcdef0123456789",
    SECRET_KEYS: "sb_secret_one_0123456789, sb_secret_two_0123456789",
    JWKS: JSON.stringify(es256.jwks),
    JWKS_URL: "https://auth.example.com/jwks.json",
  });
  assert.equal(config.jwtSecret, "project-jwt-secret-0123456789abcdef0123456789");
  // A name the deployment sets wins over the one the platform injects.
  assert.deepEqual(config.secretKeys, ["sb_secret_one_0123456789", "sb_secret_two_0123456789"]);
  assert.deepEqual(config.jwks, es256.jwks);
  assert.equal(config.jwksUrl, "https://auth.example.com/jwks.json");
  assert.throws(
    () => loadConfig({ ...PRODUCTION, SECRET_KEYS: "not-a-secret-key" }),
    /SECRET_KEYS must list only sb_secret_/,
  );
  // Supabase's local stack puts its legacy service_role JWT in SUPABASE_SECRET_KEYS too: no sb_secret_ key.
  const cli = loadConfig({
    ...PRODUCTION,
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: LOCAL_SERVICE_ROLE_JWT }),
  });
  assert.deepEqual(cli.secretKeys, []);
});

Deno.test("SUPABASE_JWKS (or JWKS) may be a JWKS object or a bare array of keys", async () => {
  const es256 = await asymmetricSigner("ES256");
  const [key] = es256.jwks.keys;
  assert.deepEqual(loadConfig({ ...PRODUCTION, SUPABASE_JWKS: JSON.stringify({ keys: [key] }) }).jwks, {
    keys: [key],
  });
  assert.deepEqual(loadConfig({ ...PRODUCTION, SUPABASE_JWKS: JSON.stringify([key]) }).jwks, { keys: [key] });
  assert.deepEqual(loadConfig({ ...PRODUCTION, JWKS: JSON.stringify([key]) }).jwks, { keys: [key] });
  assert.throws(
    () => loadConfig({ ...PRODUCTION, SUPABASE_JWKS: "{not json" }),
    /SUPABASE_JWKS is not valid JSON/,
  );
  assert.throws(
    () => loadConfig({ ...PRODUCTION, JWKS: JSON.stringify({ kty: "EC" }) }),
    /JWKS must be a JWKS/,
  );
});

Deno.test(
  "over HTTP, a production deployment refuses the published local credentials and takes its own",
  async () => {
    const es256 = await asymmetricSigner("ES256");
    // The hosted platform's SUPABASE_JWKS, given as a bare array.
    const config: Config = loadConfig({ ...PRODUCTION, SUPABASE_JWKS: JSON.stringify(es256.jwks.keys) });
    await using server = await startTestServer(config);
    const fixture = await createMerchant(server.runtime.sql);
    const register = (token: string, merchantId?: string) =>
      callFunction(server.functionsUrl, "job-interview-register-users", {
        token,
        body: {
          merchant_id: merchantId,
          interview_id: fixture.interviewId,
          type: "url",
          users: [{ email: `config-${crypto.randomUUID()}@example.com` }],
        },
      });

    const refused: [string, string, string][] = [
      ["the published service_role JWT", LOCAL_SERVICE_ROLE_JWT, "Unsupported token algorithm"],
      [
        "a service_role JWT signed with the published JWT secret",
        await userToken("00000000-0000-4000-8000-000000000000", { role: "service_role" }),
        "Unsupported token algorithm",
      ],
      [
        "a user JWT signed with the published JWT secret",
        await userToken(fixture.ownerId),
        "Unsupported token algorithm",
      ],
      ["the published sb_secret_ key", LOCAL_SECRET_KEY, "Invalid API key"],
    ];
    for (const [what, token, error] of refused) {
      const reply = await register(token, fixture.merchantId);
      assert.equal(reply.status, 401, what);
      assert.equal(reply.body.error, error, what);
    }

    const accepted: [string, string, string?][] = [
      ["the project's ES256 user JWT", await es256.sign(fixture.ownerId)],
      ["the platform's sb_secret_ key", "sb_secret_hosted_default_key_0123", fixture.merchantId],
    ];
    for (const [what, token, merchantId] of accepted) {
      const reply = await register(token, merchantId);
      assert.equal(reply.status, 200, `${what}: ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body[0].result, "ok", what);
    }
  },
);

Deno.test("JOBMOJITO_LOCAL=1 fills in the published local values, and whatever is set still wins", () => {
  const config = loadConfig(LOCAL_ENV);
  assert.equal(config.jwtSecret, LOCAL_JWT_SECRET);
  assert.deepEqual(config.secretKeys, [LOCAL_SECRET_KEY]);
  assert.equal(config.interviewTokenSecret, LOCAL_INTERVIEW_TOKEN_SECRET);
  assert.equal(config.invitationTokenSecret, LOCAL_INVITATION_TOKEN_SECRET);
  assert.equal(config.databaseUrl, LOCAL_DB_URL);
  assert.equal(config.supabaseUrl, "http://127.0.0.1:54321");
  assert.equal(config.email.smtpConfigured, false);

  const overridden = loadConfig({
    ...LOCAL_ENV,
    JWT_SECRET: "mine-0123456789abcdef0123456789abcdef",
    SUPABASE_DB_URL: databaseUrl,
  });
  assert.equal(overridden.jwtSecret, "mine-0123456789abcdef0123456789abcdef");
  assert.equal(overridden.databaseUrl, databaseUrl);
});

Deno.test("settings: the number parser both config modules use, and DATABASE_URL over the platform's URL", () => {
  assert.equal(loadConfig({ ...LOCAL_ENV, DB_POOL_SIZE: "3" }).dbPoolSize, 3);
  assert.throws(
    () => loadConfig({ ...LOCAL_ENV, DB_POOL_SIZE: "0" }),
    /DB_POOL_SIZE must be an integer >= 1/,
  );
  assert.throws(
    () => loadConfig({ ...LOCAL_ENV, DB_POOL_SIZE: "2.5" }),
    /DB_POOL_SIZE must be an integer >= 1/,
  );
  assert.equal(loadConfig({ ...LOCAL_ENV, EMAIL_RETRY_BASE_SECONDS: "0.5" }).email.retryBaseSeconds, 0.5);
  assert.throws(
    () => loadConfig({ ...LOCAL_ENV, EMAIL_RETRY_BASE_SECONDS: "-1" }),
    /EMAIL_RETRY_BASE_SECONDS must be a number >= 0/,
  );
  // A hosted deployment may point the functions at Supabase's pooler instead of the injected direct URL.
  const pooler = "postgresql://postgres.ref:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres";
  assert.equal(loadConfig({ ...PRODUCTION, DATABASE_URL: pooler }).databaseUrl, pooler);
});

Deno.test("DB_PREPARE: on by default, off behind a transaction pooler (port 6543 or pgbouncer=true)", () => {
  const direct = "postgresql://postgres:pw@db.ref.supabase.co:5432/postgres";
  const pooler = "postgresql://postgres.ref:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres";
  const marked = "postgresql://postgres:pw@bouncer.internal:5432/postgres?sslmode=require&pgbouncer=true";
  const prepare = (env: Record<string, string>) => loadConfig({ ...PRODUCTION, ...env });
  assert.equal(prepare({ DATABASE_URL: direct }).dbPrepare, true);
  assert.equal(prepare({ DATABASE_URL: pooler }).dbPrepare, false);
  assert.equal(prepare({ DATABASE_URL: marked }).dbPrepare, false);
  // Behind a pooler the email worker does not LISTEN either (no session state).
  assert.deepEqual([direct, pooler, marked].map((url) => prepare({ DATABASE_URL: url }).dbPooled), [
    false,
    true,
    true,
  ]);
  // The hint is the client's, not a server setting: it leaves the URL, the rest stays.
  assert.equal(
    prepare({ DATABASE_URL: marked }).databaseUrl,
    "postgresql://postgres:pw@bouncer.internal:5432/postgres?sslmode=require",
  );
  assert.equal(prepare({ DATABASE_URL: pooler, DB_PREPARE: "true" }).dbPrepare, true);
  assert.equal(prepare({ DATABASE_URL: direct, DB_PREPARE: "false" }).dbPrepare, false);
  assert.throws(() => prepare({ DB_PREPARE: "maybe" }), /DB_PREPARE must be true, false, 1 or 0/);
});

Deno.test(
  "the runtime prepares statements on a direct connection and none behind pgbouncer=true",
  async () => {
    for (const [hint, prepares] of [[false, true], [true, false]] as const) {
      const url = new URL(databaseUrl);
      if (hint) url.searchParams.set("pgbouncer", "true");
      // One connection, so the query below sees the session the first one ran in.
      const runtime = createRuntime(
        loadConfig({ ...LOCAL_ENV, DATABASE_URL: url.toString(), DB_POOL_SIZE: "1" }),
      );
      try {
        const [{ one }] = await runtime.sql`select ${1}::int as one`;
        assert.equal(one, 1);
        const [{ prepared }] = await runtime
          .sql`select count(*)::int as prepared from pg_prepared_statements`;
        assert.equal(prepared > 0, prepares, `pgbouncer=${hint}: ${prepared} prepared statements`);
      } finally {
        await runtime.sql.end({ timeout: 5 });
      }
    }
  },
);

Deno.test("a bad value names its variable and the rule it broke, every one at once", () => {
  assert.throws(
    () => loadConfig({ ...PRODUCTION, SUPABASE_SECRET_KEYS: "{bad" }),
    /^Error: SUPABASE_SECRET_KEYS is not valid JSON/,
  );
  assert.throws(
    () => loadConfig({ ...PRODUCTION, INTERVIEW_BASE_URL: "not-a-url" }),
    /^Error: INTERVIEW_BASE_URL must be an http:\/\/ or https:\/\/ URL$/,
  );
  assert.throws(
    () =>
      loadConfig({
        ...PRODUCTION,
        SMTP_URL: "http://mail.example.com",
        LOG_LEVEL: "loud",
        DB_POOL_SIZE: "x",
      }),
    (err: Error) => {
      assert.match(err.message, /SMTP_URL must be an smtp:\/\/ or smtps:\/\/ URL/);
      assert.match(err.message, /LOG_LEVEL must be debug, info, warn or error/);
      assert.match(err.message, /DB_POOL_SIZE must be an integer >= 1/);
      return true;
    },
  );
  assert.throws(
    () => loadConfig({ ...PRODUCTION, LOG_REQUEST_SAMPLE_RATE: "2" }),
    /LOG_REQUEST_SAMPLE_RATE must be/,
  );
  // Local mode keeps its defaults, and refuses the same mistakes.
  assert.equal(loadConfig(LOCAL_ENV).interviewBaseUrl, "http://localhost:3000");
  assert.throws(
    () => loadConfig({ ...LOCAL_ENV, INTERVIEW_BASE_URL: "not-a-url" }),
    /INTERVIEW_BASE_URL must be/,
  );
});

Deno.test("each function requires only what it uses: openapi starts without SMTP_URL, and a missing need is named", () => {
  for (const [name, definition] of Object.entries(FUNCTION_DEFINITIONS)) {
    const needed = new Set<string>(definition.requires.flatMap((requirement) => REQUIREMENTS[requirement]));
    // Only the variables its requirements name (and DATABASE_URL stands in for SUPABASE_DB_URL).
    const env = Object.fromEntries(
      Object.entries({ ...PRODUCTION, DATABASE_URL: databaseUrl }).filter(([variable]) =>
        needed.has(variable)
      ),
    );
    const config = loadConfig(env, definition.requires);
    const runtime = createRuntime(config);
    assert.doesNotThrow(() => definition.app(runtime), name);
    if (definition.requires.includes("databaseUrl")) runtime.sql.end({ timeout: 1 });
    for (const requirement of definition.requires) {
      const without = Object.fromEntries(
        Object.entries(env).filter(([variable]) =>
          !(REQUIREMENTS[requirement] as readonly string[]).includes(variable)
        ),
      );
      assert.throws(
        () => loadConfig(without, definition.requires),
        new RegExp(`Missing configuration: .*${REQUIREMENTS[requirement][0]}`),
        `${name} without ${requirement}`,
      );
    }
  }
  const openapi = loadConfig(
    { SUPABASE_URL: "https://abc.supabase.co" },
    FUNCTION_DEFINITIONS.openapi.requires,
  );
  assert.throws(() => openapi.email.smtpUrl, /SMTP_URL is not set, and this function does not require it/);
  assert.throws(() => openapi.databaseUrl, /DATABASE_URL or SUPABASE_DB_URL is not set/);
});

Deno.test("hosted Supabase defaults: a small pool, no prepared statements, sampled success logs", () => {
  const hosted = loadConfig({ ...PRODUCTION, SB_REGION: "eu-central-1" });
  assert.equal(hosted.dbPoolSize, 3);
  assert.equal(hosted.dbPrepare, false);
  assert.equal(hosted.logRequestSampleRate, 0.1);
  const elsewhere = loadConfig(PRODUCTION);
  assert.equal(elsewhere.dbPoolSize, 10);
  assert.equal(elsewhere.logRequestSampleRate, 1);
  const set = loadConfig({ ...PRODUCTION, SB_REGION: "eu-central-1", DB_POOL_SIZE: "5", DB_PREPARE: "1" });
  assert.equal(set.dbPoolSize, 5);
  assert.equal(set.dbPrepare, true);
});
