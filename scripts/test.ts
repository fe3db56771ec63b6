/**
 * `deno task test [deno test args...]`: runs `deno test -A tests/` against a
 * database of its own, then the pooler pass.
 *
 * Without SUPABASE_DB_URL / DATABASE_URL it starts a throwaway embedded
 * PostgreSQL (temp dir, free port, fsync off), applies the migrations and the
 * seed, runs the tests with DATABASE_URL (and SUPABASE_DB_URL) pointing at it
 * and JOBMOJITO_LOCAL=1, then stops and deletes it. With one of them set, it migrates + seeds that
 * database and tests against it (nothing is started or deleted).
 *
 * The pooler pass runs POOLER_TESTS again, through PgBouncer in transaction mode
 * (scripts/pgbouncer.ts) in front of the same database, with the settings the
 * README gives for a transaction pooler (`pgbouncer=true`: no prepared statements,
 * no LISTEN), plus tests/pooler_test.ts (two API processes on one database). It
 * runs after a full run; TEST_POOLER=only runs it alone, TEST_POOLER=off skips it.
 * Without pgbouncer installed it is skipped with a note, unless
 * JOBMOJITO_TEST_REQUIRE lists `pgbouncer` (as .ci/run does): then that counts
 * as a failure.
 *
 * Extra arguments go to `deno test`, e.g. `deno task test --filter gateway` or
 * `deno task test tests/gateway_test.ts` (a path replaces the default `tests/`
 * and leaves the pooler pass out). The last line sums both passes up the way
 * deno test does (`ok | N passed (S steps) | M failed`); exits non-zero when
 * anything failed.
 *
 * What a test logs (the functions' JSON access log, the dispatcher's summaries)
 * is shown only for a test that fails, so a passing run prints its results and
 * little else; TEST_LOGS=1 shows all of it.
 */
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { LOCAL_ENV } from "../supabase/functions/_shared/config.ts";
import { prepareDatabase, REPO_ROOT } from "./local_db.ts";
import { findPgBouncer, type PgBouncer, startPgBouncer } from "./pgbouncer.ts";

/** The race, fault and email tests: what must hold behind a transaction pooler too. */
export const POOLER_TESTS = [
  "tests/races_test.ts",
  "tests/faults_test.ts",
  "tests/email_chain_test.ts",
  "tests/email_concurrency_test.ts",
  "tests/email_delivery_test.ts",
  "tests/email_failure_test.ts",
  "tests/email_local_test.ts",
  "tests/pooler_test.ts",
];

function isPath(arg: string): boolean {
  if (arg.startsWith("-")) return false;
  try {
    Deno.statSync(arg);
    return true;
  } catch {
    return false;
  }
}

function testArgs(extra: string[], paths: string[]): string[] {
  return ["test", "-A", ...extra, ...paths];
}

interface Summary {
  passed: number;
  steps: number;
  failed: number;
  code: number;
}

const SUMMARY = /^(ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed/;

const OUTPUT_START = /^-+ (pre-test |post-test )?output -+$/;
const OUTPUT_END = /^-+ (pre-test |post-test )?output end -+$/;
const PASSED = /\.\.\. (ok|ignored) \(/;
/** A test (or step) started and its result comes later, after what it prints. */
const STARTED = /\S \.\.\.$/;

/**
 * Copies deno test's report to stdout, holding back the blocks of output it prints between a test's start
 * and its result: they are dropped when the result is "ok" and printed otherwise.
 */
async function forwardResults(stream: ReadableStream<Uint8Array>, everything: boolean): Promise<void> {
  const encoder = new TextEncoder();
  const write = (lines: string[]) => {
    if (lines.length) Deno.stdout.writeSync(encoder.encode(lines.join("\n") + "\n"));
  };
  let held: string[] = [];
  let inBlock = false;
  const onLine = (line: string) => {
    // Without its colours (ANSI SGR sequences), when a terminal gets them.
    const plain = stripVTControlCharacters(line);
    if (everything) return write([line]);
    if (inBlock || OUTPUT_START.test(plain)) {
      held.push(line);
      inBlock = !OUTPUT_END.test(plain);
      return;
    }
    if (held.length && PASSED.test(plain)) held = [];
    else if (!STARTED.test(plain)) {
      write(held);
      held = [];
    }
    write([line]);
  };
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) onLine(line);
  }
  if (buffered) onLine(buffered);
  write(held);
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

  /** One `deno test` run, its output passed through as it comes, its summary line read. */
  const denoTest = async (args: string[], env: Record<string, string>): Promise<Summary> => {
    child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: REPO_ROOT,
      env,
      stdin: "inherit",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    let summary: Omit<Summary, "code"> | null = null;
    let buffered = "";
    const [report, copy] = child.stdout.tee();
    const forwarded = forwardResults(report, Deno.env.get("TEST_LOGS") === "1");
    for await (const chunk of copy.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        const match = stripVTControlCharacters(line).match(SUMMARY);
        if (match) summary = { passed: +match[2], steps: +(match[3] ?? 0), failed: +match[4] };
      }
    }
    const { code } = await child.status;
    await forwarded;
    // A run that failed without a summary (it did not compile, it crashed) counts as one failure.
    return { ...(summary ?? { passed: 0, steps: 0, failed: 0 }), code };
  };

  const paths = Deno.args.filter(isPath);
  const extra = Deno.args.filter((arg) => !isPath(arg));
  const poolerMode = Deno.env.get("TEST_POOLER") ?? (paths.length > 0 ? "off" : "on");
  const required = (Deno.env.get("JOBMOJITO_TEST_REQUIRE") ?? "").split(",");
  const summaries: Summary[] = [];
  let pooler: PgBouncer | undefined;
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

    // Local: the tests sign with the published local secrets and expect the local defaults.
    const env = { ...LOCAL_ENV, DATABASE_URL: db.url, SUPABASE_DB_URL: db.url };
    if (poolerMode !== "only") {
      summaries.push(await denoTest(testArgs(extra, paths.length > 0 ? paths : ["tests/"]), env));
    }
    if (poolerMode !== "off" && !interrupted) {
      if (!findPgBouncer()) {
        const note = "pgbouncer is not installed: the pooler pass is skipped (apt-get install pgbouncer)";
        console.error(note);
        if (required.includes("pgbouncer")) summaries.push({ passed: 0, steps: 0, failed: 1, code: 1 });
      } else {
        pooler = await startPgBouncer(db.url);
        console.error(
          `\npooler pass: the race, fault and email tests through PgBouncer on port ${pooler.port}`,
        );
        summaries.push(
          await denoTest(testArgs(extra, POOLER_TESTS), {
            ...env,
            DATABASE_URL: pooler.url,
            SUPABASE_DB_URL: pooler.url,
            // What the tests that must see the database itself (pg_stat_activity, ...) connect to.
            DIRECT_DATABASE_URL: db.url,
          }),
        );
      }
    }
    if (interrupted) return 130;
    const total = summaries.reduce((sum, s) => ({
      passed: sum.passed + s.passed,
      steps: sum.steps + s.steps,
      failed: sum.failed + (s.failed === 0 && s.code !== 0 ? 1 : s.failed),
      code: sum.code || s.code,
    }), { passed: 0, steps: 0, failed: 0, code: 0 });
    if (summaries.length > 1) {
      console.log(
        `\n${total.failed === 0 ? "ok" : "FAILED"} | ${total.passed} passed (${total.steps} steps) | ` +
          `${total.failed} failed (the whole suite, then the pooler pass)`,
      );
    }
    return total.failed > 0 ? 1 : total.code;
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    return 1;
  } finally {
    await pooler?.stop();
    await db?.stop();
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
    console.error(`deno task test: ${Math.round(performance.now() - started)} ms in total`);
  }
}

if (import.meta.main) Deno.exit(await main());
