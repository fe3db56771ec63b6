import type { Hono } from "hono";
import postgres from "postgres";
import type { AppEnv } from "./app.ts";
import { type Config, loadConfig, type Requirement } from "./config.ts";
import { setLogLevel } from "./log.ts";

/** What every function needs at run time: its configuration and one database pool. */
export interface Runtime {
  config: Config;
  sql: postgres.Sql;
}

export function createRuntime(config: Config = loadConfig()): Runtime {
  setLogLevel(config.logLevel);
  // max_pipeline is a postgres.js option its type declarations leave out.
  const options: postgres.Options<Record<string, never>> & { max_pipeline: number } = {
    max: config.dbPoolSize,
    prepare: config.dbPrepare,
    idle_timeout: 30,
    // At most one query waiting behind the one a connection runs; the rest wait in the pool's FIFO queue
    // for the next connection to free up. By default postgres.js deals up to 100 queries round-robin onto
    // busy connections, so requests queue behind a slow connection's backlog: that was the single-user
    // benchmark's p99 (895 ms; 151 ms with 1). Not 0: postgres.js 3.4.9 cannot begin a transaction at 0.
    max_pipeline: 1,
    connect_timeout: 5,
    onnotice: () => {},
    connection: { application_name: "jobmojito-functions" },
  };
  // Made on first use: a function that needs no database (openapi) starts without one.
  let sql: postgres.Sql | undefined;
  return {
    config,
    get sql() {
      return sql ??= postgres(config.databaseUrl, options);
    },
  };
}

/**
 * What a function's index.ts runs: its app, configured from the environment with only the settings it
 * `requires` (config.ts REQUIREMENTS), served as on Supabase's edge runtime.
 */
export function serveFunction(
  app: (runtime: Runtime) => Hono<AppEnv>,
  requires: readonly Requirement[],
): void {
  Deno.serve(app(createRuntime(loadConfig(Deno.env.toObject(), requires))).fetch);
}
