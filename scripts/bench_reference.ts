/**
 * The bench's reference (scripts/bench.ts): the least a write request can cost on this machine. A minimal
 * Hono server that, per request, reads the JSON body and runs one write transaction on one hot row
 * against the same PostgreSQL, with a pool as large as the API's. Single-user registrations are measured
 * as a ratio to it, with the same load generator in the same run.
 *
 * Run as its own process (like the API), so its CPU is its own: `deno run -A scripts/bench_reference.ts
 * <database url> <port> <pool size>`.
 */
import { Hono } from "hono";
import postgres from "postgres";
import { REPO_ROOT } from "./local_db.ts";

/** Starts the reference server as a child process; resolves once it answers. */
export async function startHotRowReference(
  databaseUrl: string,
  port: number,
  poolSize: number,
): Promise<Deno.ChildProcess> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`create table if not exists bench_hot_row (id integer primary key, hits bigint not null)`;
    await sql`insert into bench_hot_row values (1, 0) on conflict (id) do nothing`;
  } finally {
    await sql.end();
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/bench_reference.ts", databaseUrl, String(port), String(poolSize)],
    cwd: REPO_ROOT,
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  for (const started = Date.now(); Date.now() - started < 30_000;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "{}" });
      await res.body?.cancel();
      if (res.ok) return child;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill("SIGTERM");
  throw new Error("the hot-row reference server did not come up");
}

if (import.meta.main) {
  const [databaseUrl, port, poolSize] = Deno.args;
  const sql = postgres(databaseUrl, { max: Number(poolSize), onnotice: () => {} });
  const app = new Hono();
  app.post("/", async (c) => {
    await c.req.json();
    const [row] = await sql<
      { hits: string }[]
    >`update bench_hot_row set hits = hits + 1 where id = 1 returning hits`;
    return c.json({ hits: Number(row.hits) });
  });
  Deno.serve({ hostname: "127.0.0.1", port: Number(port), onListen: () => {} }, app.fetch);
}
