import type { Hono } from "hono";
import type postgres from "postgres";
import type { AppEnv } from "./app.ts";
import { type Config, loadConfig, type Requirement } from "./config.ts";
import { createDatabase, type Database } from "./db.ts";
import { setLogLevel } from "./log.ts";

/** What every function needs at run time: its configuration and one database pool. */
export interface Runtime {
  config: Config;
  /** Requests' way to the database: one statement each, admitted in order, under a deadline (db.ts). */
  db: Database;
  /** The same pool, for work no request waits on (workers, scripts, tests). */
  sql: postgres.Sql;
}

export function createRuntime(config: Config = loadConfig()): Runtime {
  setLogLevel(config.logLevel);
  // Made on first use: a function that needs no database (openapi) starts without one.
  let db: Database | undefined;
  const database = () => db ??= createDatabase(config);
  return {
    config,
    get db() {
      return database();
    },
    get sql() {
      return database().sql;
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
