/**
 * The one place for a test file's shared resources and test options.
 *
 * A file whose tests share a server, an email environment or a database pool
 * starts with one of the `file*` helpers below. The resource is opened once for
 * the file and closed after its last test (Deno.test.afterAll), and since its
 * sockets and timers outlive each test, the per-test op and resource
 * sanitizers are turned off for the whole file, before any test is registered.
 *
 *   const server = await fileServer({ maxUsersPerRequest: 5 });
 *   const db = fileDatabase();
 *   Deno.test("…", withTransaction(db, async (tx) => { … }));
 *
 * A test that opens something of its own closes it itself (`await using`).
 */
import postgres from "postgres";
import { type Config, loadConfig, LOCAL_ENV } from "../../supabase/functions/_shared/config.ts";
import type { EmailConfig } from "../../supabase/functions/_shared/email/config.ts";
import type { MailCatcherOptions } from "../../scripts/mail_catcher.ts";
import { type EmailTestEnv, startEmailTestEnv } from "./email.ts";
import { startTestServer, type TestServer } from "./server.ts";

/** The test database (`deno task test` sets DATABASE_URL; without it, the local one). */
export function testDatabaseUrl(): string {
  return loadConfig({ ...Deno.env.toObject(), ...LOCAL_ENV }).databaseUrl;
}

/** For files whose tests share something, or start what outlives a test: no per-test sanitizers. */
export function sharedAcrossTests(): void {
  Deno.test.sanitizer({ ops: false, resources: false });
}

function forTheFile<T>(resource: T, close: () => Promise<unknown>): T {
  sharedAcrossTests();
  Deno.test.afterAll(async () => {
    await close();
  });
  return resource;
}

/** The API on a free port for every test of the file. */
export async function fileServer(overrides: Partial<Config> = {}): Promise<TestServer> {
  const server = await startTestServer(overrides);
  return forTheFile(server, () => server.close());
}

/** The API with a mail catcher and dispatchers (tests/_support/email.ts) for every test of the file. */
export async function fileEmailEnv(
  email: Partial<EmailConfig> = {},
  catcherOptions: MailCatcherOptions = {},
): Promise<EmailTestEnv> {
  const env = await startEmailTestEnv(email, catcherOptions);
  return forTheFile(env, () => env.close());
}

/** A small pool on the test database for every test of the file. */
export function fileDatabase(options: postgres.Options<Record<string, never>> = {}): postgres.Sql {
  const sql = postgres(testDatabaseUrl(), { max: 2, onnotice: () => {}, ...options });
  return forTheFile(sql, () => sql.end({ timeout: 5 }));
}

const ROLLBACK = Symbol("rollback");

/**
 * A test body run in a transaction that is always rolled back: whatever it writes, locks or creates is gone
 * afterwards. A statement expected to fail runs in `tx.savepoint(...)`, so the transaction goes on.
 */
export function withTransaction(
  sql: postgres.Sql,
  fn: (tx: postgres.TransactionSql) => Promise<void>,
): () => Promise<void> {
  return async () => {
    try {
      await sql.begin(async (tx) => {
        await fn(tx);
        throw ROLLBACK;
      });
    } catch (err) {
      if (err !== ROLLBACK) throw err;
    }
  };
}
