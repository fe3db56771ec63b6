/** What the database raises, as the API answers it: real errors from the real server. */
import assert from "node:assert/strict";
import postgres from "postgres";
import { apiErrorFromDatabase } from "../supabase/functions/_shared/db_errors.ts";
import { loadConfig, LOCAL_ENV } from "../supabase/functions/_shared/config.ts";

const url = loadConfig({ ...Deno.env.toObject(), ...LOCAL_ENV }).databaseUrl;

async function raised(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  throw new Error("expected the database to raise");
}

Deno.test(
  "a deadlock the database broke is a 503 with Retry-After: the transaction was rolled back",
  async () => {
    const a = postgres(url, { max: 1, onnotice: () => {} });
    const b = postgres(url, { max: 1, onnotice: () => {} });
    const table = `deadlock_probe_${crypto.randomUUID().slice(0, 8)}`;
    try {
      await a.unsafe(`create table ${table} (id int primary key); insert into ${table} values (1), (2)`);
      // Each transaction locks one row, then, once both hold theirs, wants the other's:
      // the server aborts one of them.
      let arrived = 0;
      let release!: () => void;
      const bothHoldTheirRow = new Promise<void>((resolve) => release = resolve);
      const lockThenCross = (db: postgres.Sql, first: number, second: number) =>
        db.begin(async (tx) => {
          await tx.unsafe(`update ${table} set id = id where id = ${first}`);
          if (++arrived === 2) release();
          await bothHoldTheirRow;
          await tx.unsafe(`update ${table} set id = id where id = ${second}`);
        });
      const outcomes = await Promise.allSettled([lockThenCross(a, 1, 2), lockThenCross(b, 2, 1)]);
      const victim = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult | undefined;
      assert.ok(victim, "one transaction is aborted");
      assert.equal((victim.reason as { code: string }).code, "40P01");
      const answer = apiErrorFromDatabase(victim.reason);
      assert.equal(answer?.status, 503);
      assert.equal(answer?.headers["Retry-After"], "5");
    } finally {
      await a.unsafe(`drop table if exists ${table}`);
      await a.end();
      await b.end();
    }
  },
);

Deno.test("JMxxx errors become their status; JM503 also says when to retry", async () => {
  const db = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const busy = apiErrorFromDatabase(
      await raised(() => db`do $$ begin raise exception 'Busy' using errcode = 'JM503'; end $$`),
    );
    assert.deepEqual([busy?.status, busy?.message, busy?.headers["Retry-After"]], [503, "Busy", "5"]);
    const invalid = apiErrorFromDatabase(
      await raised(() =>
        db`do $$ begin raise exception 'Nope' using errcode = 'JM422', hint = 'interview_id'; end $$`
      ),
    );
    assert.deepEqual(invalid?.body(), { error: "Nope", name: "interview_id" });
    assert.equal(invalid?.headers["Retry-After"], undefined);
    assert.equal(apiErrorFromDatabase(await raised(() => db`select 1 / 0`)), null, "anything else is a 500");
  } finally {
    await db.end();
  }
});
