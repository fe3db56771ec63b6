import type postgres from "postgres";
import { type Config, loadConfig } from "./config.ts";
import { createDatabase, type Database } from "./db.ts";

/** What every function needs at run time: its configuration and one database pool. */
export interface Runtime {
  config: Config;
  /** Requests' way to the database: admission, deadlines, transactions (db.ts). */
  db: Database;
  /** The same pool, for work no request waits on (workers, scripts, tests). */
  sql: postgres.Sql;
}

export function createRuntime(config: Config = loadConfig()): Runtime {
  const db = createDatabase(config);
  return { config, db, sql: db.sql };
}
