/**
 * `deno task test [deno test args...]`: runs `deno test -A tests/` against a
 * database of its own.
 *
 * Without SUPABASE_DB_URL / DATABASE_URL it starts a throwaway embedded
 * PostgreSQL (temp dir, free port, fsync off), applies the migrations and the
 * seed, runs the tests with DATABASE_URL (and SUPABASE_DB_URL) pointing at it
 * and JOBMOJITO_LOCAL=1, then stops and deletes it. With one of them set, it migrates + seeds that
 * database and tests against it (nothing is started or deleted).
 *
 * Extra arguments go to `deno test`, e.g. `deno task test --filter gateway` or
 * `deno task test tests/gateway_test.ts` (a path replaces the default `tests/`).
 * Exits with deno test's exit code.
 */
import { join } from "node:path";
import { LOCAL_ENV } from "../supabase/functions/_shared/config.ts";
import { prepareDatabase, REPO_ROOT } from "./local_db.ts";

function testArgs(extra: string[]): string[] {
  // An existing file or directory among the extra args replaces the default `tests/`.
  const isPath = (arg: string) => {
    if (arg.startsWith("-")) return false;
    try {
      Deno.statSync(arg);
      return true;
    } catch {
      return false;
    }
  };
  // What a passing test prints is shown only if it fails (tests/_support/quiet_logs.ts).
  return [
    "test",
    "-A",
    "--preload",
    "tests/_support/quiet_logs.ts",
    ...extra,
    ...(extra.some(isPath) ? [] : ["tests/"]),
  ];
}

async function main(): Promise<number> {
  const started = performance.now();
  const tempDir = await Deno.makeTempDir({ prefix: "jobmojito-test-pg-" });
  let child: Deno.ChildProcess | undefined;
  let interrupted: Deno.Signal | null = null;
  const onSignal = (signal: Deno.Signal) => () => {
    interrupted ??= signal;
    // A terminal's Ctrl-C reaches deno test too (same process group); SIGTERM may be ours alone.
    try {
      child?.kill(signal === "SIGINT" ? "SIGINT" : "SIGTERM");
    } catch { /* already gone */ }
  };
  const handlers = (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((s) => [s, onSignal(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);

  let db: Awaited<ReturnType<typeof prepareDatabase>> | undefined;
  try {
    db = await prepareDatabase({ dataDir: join(tempDir, "data"), port: 0, persistent: false, fast: true });
    console.error(
      `test database: ${
        db.server ? `embedded on port ${db.server.port}` : "external (from the environment)"
      } ` +
        `(start ${db.timings.startMs} ms, migrations ${db.timings.migrateMs} ms, seed ${db.timings.seedMs} ms)`,
    );
    if (interrupted) return 130;

    child = new Deno.Command(Deno.execPath(), {
      args: testArgs(Deno.args),
      cwd: REPO_ROOT,
      // Local: the tests sign with the published local secrets and expect the local defaults.
      env: { ...LOCAL_ENV, DATABASE_URL: db.url, SUPABASE_DB_URL: db.url },
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const status = await child.status;
    return interrupted ? 130 : status.code;
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    return 1;
  } finally {
    await db?.stop();
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
    console.error(`deno task test: ${Math.round(performance.now() - started)} ms in total`);
  }
}

if (import.meta.main) Deno.exit(await main());
