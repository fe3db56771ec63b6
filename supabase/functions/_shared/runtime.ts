import postgres from "postgres";
import { type Config, loadConfig } from "./config.ts";

/** What every function needs at run time: its configuration and one database pool. */
export interface Runtime {
  config: Config;
  sql: postgres.Sql;
}

export function createRuntime(config: Config = loadConfig()): Runtime {
  const sql = postgres(config.databaseUrl, {
    max: config.dbPoolSize,
    prepare: config.dbPrepare,
    idle_timeout: 30,
    connect_timeout: 5,
    onnotice: () => {},
    connection: { application_name: "jobmojito-functions" },
  });
  return { config, sql };
}
