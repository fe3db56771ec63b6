/**
 * Request coalescing (supabase/functions/_shared/coalescer.ts): concurrent single-user registrations of one
 * shape share one call of app.register_users, one transaction and one commit, and each request keeps its
 * own outcome. The requests are made to queue deterministically: the merchant's credit lock is held in a
 * session of the test's own, so the first calls block in the database and the rest wait in the API in one
 * group; releasing the lock lets the group run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type postgres from "postgres";
import { userToken } from "./_support/credentials.ts";
import { createMerchant, credits, type MerchantFixture } from "./_support/fixtures.ts";
import { callFunction, type Reply } from "./_support/http.ts";
import { startTestServer } from "./_support/server.ts";
import { waitFor } from "./_support/email.ts";
import { fileServer, sharedAcrossTests } from "./_support/suite.ts";
import { applyMigrations, startLocalPostgres } from "../scripts/local_db.ts";

sharedAcrossTests();
const server = await fileServer();
const { sql } = server.runtime;
const FN = "job-interview-register-users";

/** Holds the merchant's credit lock exclusively, as a batch short of credits does, until released. */
async function holdCreditLock(db: postgres.Sql, merchantId: string) {
  const session = await db.reserve();
  await session`select pg_advisory_lock(app.merchant_lock_key('credits', ${merchantId}::uuid))`;
  return {
    async release() {
      await session`select pg_advisory_unlock(app.merchant_lock_key('credits', ${merchantId}::uuid))`;
      session.release();
    },
  };
}

/** Resolves once `count` registration calls of the merchant wait for its credit lock. */
function blockedCalls(db: postgres.Sql, count: number) {
  return waitFor(`${count} registration calls to wait for the credit lock`, async () => {
    const [{ waiting }] = await db<{ waiting: number }[]>`
      select count(*)::int as waiting from pg_locks where locktype = 'advisory' and not granted`;
    return waiting >= count ? waiting : undefined;
  });
}

/** Single-user registrations of `emails`, all sent at once; their replies in the same order. */
function registerEach(
  functionsUrl: string,
  fixture: MerchantFixture,
  token: string,
  emails: string[],
): Promise<Reply[]> {
  return Promise.all(emails.map((email) =>
    callFunction(functionsUrl, FN, {
      token,
      body: { interview_id: fixture.interviewId, type: "url", users: [{ email, name: email.split("@")[0] }] },
    })
  ));
}

/** The merchant's registrations: each one's email, and how many transactions wrote them. */
async function registrationsOf(db: postgres.Sql, merchantId: string) {
  const rows = await db<{ email: string; writer: string }[]>`
    select p.email, pi.xmin::text as writer
    from profile_interviews pi join candidate_profiles p on p.id = pi.profile_id
    where pi.merchant_id = ${merchantId}`;
  return { emails: rows.map((r) => r.email).sort(), transactions: new Set(rows.map((r) => r.writer)).size };
}

const emailsFor = (label: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${label}-${i}-${crypto.randomUUID().slice(0, 8)}@coalesce.example`);

Deno.test("queued single-user requests share one call, and each gets its own registration and link", async () => {
  const fixture = await createMerchant(sql, { credits: 100 });
  const token = await userToken(fixture.ownerId);
  const emails = emailsFor("shared", 30);
  const lock = await holdCreditLock(sql, fixture.merchantId);
  const replies = registerEach(server.functionsUrl, fixture, token, emails);
  await blockedCalls(sql, 2);
  // The rest reach the API meanwhile and wait there, behind the two blocked calls.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await lock.release();

  const answered = await replies;
  answered.forEach((reply, i) => {
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body[0].email, emails[i], "each request is answered with its own row");
    assert.equal(reply.body[0].result, "ok");
  });
  const links = new Set(answered.map((reply) => reply.body[0].interview_url));
  const registrations = new Set(answered.map((reply) => reply.body[0].profile_interview_id));
  assert.equal(links.size, 30, "a link per request");
  assert.equal(registrations.size, 30, "a registration per request");

  const written = await registrationsOf(sql, fixture.merchantId);
  assert.deepEqual(written.emails, [...emails].sort());
  // Two blocked calls and one group when every request reached the API in the half second; a few more on a
  // loaded machine. Without coalescing: 30.
  assert(written.transactions <= 10, `30 requests were written by ${written.transactions} transactions`);
  assert.equal(await credits(sql, fixture.merchantId), 70, "one credit per request");

  // Every link is the one of its own registration: it redeems once, for that registration.
  for (const reply of answered.slice(0, 3)) {
    const token = new URL(reply.body[0].interview_url).searchParams.get("interview_token");
    const redeemed = await callFunction(server.functionsUrl, "interview-token-redeem", {
      body: { interview_token: token },
    });
    assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body));
    assert.equal(redeemed.body.profile_interview_id, reply.body[0].profile_interview_id);
  }
});

Deno.test("coalesced requests short of credits: the earliest get them, the others an error and nothing written", async () => {
  const fixture = await createMerchant(sql, { credits: 5 });
  const token = await userToken(fixture.ownerId);
  const emails = emailsFor("short", 15);
  const lock = await holdCreditLock(sql, fixture.merchantId);
  const replies = registerEach(server.functionsUrl, fixture, token, emails);
  await blockedCalls(sql, 2);
  await new Promise((resolve) => setTimeout(resolve, 500));
  await lock.release();

  const answered = await replies;
  const ok = answered.filter((reply) => reply.body[0].result === "ok").map((reply) => reply.body[0].email);
  const refused = answered.filter((reply) => reply.body[0].result === "Error: Not enough interview credits");
  assert(answered.every((reply) => reply.status === 200));
  assert.equal(ok.length, 5);
  assert.equal(refused.length, 10);
  assert(refused.every((reply) => reply.body[0].interview_url === undefined));
  assert.equal(await credits(sql, fixture.merchantId), 0);
  assert.deepEqual((await registrationsOf(sql, fixture.merchantId)).emails, ok.sort());
  const [{ profiles }] = await sql<{ profiles: number }[]>`
    select count(*)::int as profiles from candidate_profiles where merchant_id = ${fixture.merchantId}`;
  assert.equal(profiles, 5, "a refused request created no candidate either");
});

/** A fault in the database for one email of one merchant: any registration of it raises. */
async function faultFor(db: postgres.Sql, merchantId: string, email: string | null) {
  const name = `coalesce_fault_${merchantId.slice(0, 8)}`;
  await db.unsafe(`
    create function ${name}() returns trigger language plpgsql as $$
    begin raise exception 'injected fault'; end $$;
    create trigger ${name} before insert on candidate_profiles for each row
      when (new.merchant_id = '${merchantId}'${email ? ` and new.email = '${email}'` : ""})
      execute function ${name}();`);
  return () => db.unsafe(`drop trigger ${name} on candidate_profiles; drop function ${name}();`);
}

Deno.test("a request that fails among coalesced ones fails alone: the others are written, it is not", async () => {
  const fixture = await createMerchant(sql, { credits: 100 });
  const token = await userToken(fixture.ownerId);
  const emails = emailsFor("fault", 20);
  const faulty = emails[11];
  const removeFault = await faultFor(sql, fixture.merchantId, faulty);
  try {
    const lock = await holdCreditLock(sql, fixture.merchantId);
    const replies = registerEach(server.functionsUrl, fixture, token, emails);
    await blockedCalls(sql, 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await lock.release();

    const answered = await replies;
    answered.forEach((reply, i) => {
      if (emails[i] === faulty) {
        assert.equal(reply.status, 500, JSON.stringify(reply.body));
      } else {
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.equal(reply.body[0].result, "ok");
        assert.equal(reply.body[0].email, emails[i]);
      }
    });
    const written = await registrationsOf(sql, fixture.merchantId);
    assert.deepEqual(written.emails, emails.filter((email) => email !== faulty).sort());
    assert.equal(await credits(sql, fixture.merchantId), 81);
  } finally {
    await removeFault();
  }
});

Deno.test("two merchants: one's blocked and failing requests neither block nor fail the other's", async () => {
  const blocked = await createMerchant(sql, { credits: 100 });
  const free = await createMerchant(sql, { credits: 100 });
  const [blockedToken, freeToken] = await Promise.all([userToken(blocked.ownerId), userToken(free.ownerId)]);
  const removeFault = await faultFor(sql, blocked.merchantId, null);
  try {
    const lock = await holdCreditLock(sql, blocked.merchantId);
    let blockedAnswered = 0;
    const blockedReplies = registerEach(server.functionsUrl, blocked, blockedToken, emailsFor("blocked", 10))
      .then((replies) => {
        blockedAnswered = replies.length;
        return replies;
      });
    await blockedCalls(sql, 2);

    const freeEmails = emailsFor("free", 10);
    const freeReplies = await registerEach(server.functionsUrl, free, freeToken, freeEmails);
    assert(freeReplies.every((reply) => reply.status === 200 && reply.body[0].result === "ok"));
    assert.equal(blockedAnswered, 0, "the other merchant's requests were answered while these still waited");
    assert.deepEqual((await registrationsOf(sql, free.merchantId)).emails, freeEmails.sort());

    await lock.release();
    const failed = await blockedReplies;
    assert(failed.every((reply) => reply.status === 500), JSON.stringify(failed.map((r) => r.status)));
    assert.deepEqual((await registrationsOf(sql, blocked.merchantId)).emails, []);
    assert.equal(await credits(sql, blocked.merchantId), 100);
    assert.equal(await credits(sql, free.merchantId), 90);
  } finally {
    await removeFault();
  }
});

Deno.test("the database crashing while a coalesced call commits: every member is told the outcome is unknown, and none was written", async () => {
  // A database of its own: the crash restarts every session of it.
  const dataDir = join(await Deno.makeTempDir({ prefix: "jobmojito-coalesce-crash-" }), "data");
  const pg = await startLocalPostgres({ dataDir, port: 0, persistent: false, fast: false });
  try {
    await applyMigrations(pg.url);
    await using crashServer = await startTestServer({ databaseUrl: pg.url });
    const db = crashServer.runtime.sql;
    const fixture = await createMerchant(db, { credits: 100 });
    const token = await userToken(fixture.ownerId);
    // At commit (a deferred trigger runs there, after the statement and its deadline check), the
    // registrations of "crash-" candidates wait: the test kills that backend then, as a crash would.
    await db.unsafe(`
      create function commit_pause() returns trigger language plpgsql as $$
      begin perform pg_sleep(30); return null; end $$;
      create constraint trigger commit_pause after insert on candidate_profiles
        deferrable initially deferred for each row
        when (new.email like 'crash-%') execute function commit_pause();`);

    // Two calls blocked in the database hold the key's two places; the twelve then wait in one group, which
    // runs when the first of them is done (or at once, blocked like them, when the second changed between
    // the two sends: the key holds the links' issue time, in seconds).
    const lock = await holdCreditLock(db, fixture.merchantId);
    const blockers = registerEach(crashServer.functionsUrl, fixture, token, emailsFor("blocker", 2));
    await blockedCalls(db, 2);
    const emails = emailsFor("crash", 12);
    const replies = registerEach(crashServer.functionsUrl, fixture, token, emails);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await lock.release();
    const committing = await waitFor("a coalesced call to reach its commit", async () => {
      const [row] = await db<{ pid: number }[]>`
        select pid from pg_stat_activity where wait_event = 'PgSleep' and pid <> pg_backend_pid() limit 1`;
      return row?.pid;
    });
    Deno.kill(committing, "SIGKILL");

    // The group at its commit is told the outcome is unknown; a straggler that reached the API after the
    // group had left (a loaded machine) is sent later, to a database still recovering, and told it is down.
    const answered = await replies;
    assert(answered.every((reply) => reply.status === 503), JSON.stringify(answered.map((r) => r.body)));
    const unknown = answered.filter((reply) => /may or may not have been applied/.test(reply.body.error));
    assert(unknown.length >= 1, JSON.stringify(answered.map((r) => r.body)));
    assert(answered.every((reply) => unknown.includes(reply) || /unavailable/i.test(reply.body.error)));
    // A blocker either committed before the crash or (waiting for the merchant's row, which the paused
    // commit holds) was ended by it.
    const blocked = await blockers;
    assert(blocked.every((reply) => reply.status === 200 || reply.status === 503), JSON.stringify(blocked));
    const committed = blocked.filter((reply) => reply.status === 200).map((reply) => reply.body[0].email);
    // Back after crash recovery: nothing of theirs was committed, and no credit was spent.
    const written = await waitFor("the database to be back", async () => {
      try {
        return await registrationsOf(db, fixture.merchantId);
      } catch {
        return undefined;
      }
    });
    assert(committed.every((email) => written.emails.includes(email)), "every blocker answered ok is there");
    assert(written.emails.every((email) => email.startsWith("blocker-")), "no member of the group is");
    assert.equal(await credits(db, fixture.merchantId), 100 - written.emails.length);
    // The API serves again, coalescing as before.
    await db.unsafe(`drop trigger commit_pause on candidate_profiles`);
    const again = await registerEach(crashServer.functionsUrl, fixture, token, emails);
    assert(again.every((reply) => reply.status === 200 && reply.body[0].result === "ok"));
  } finally {
    await pg.stop();
  }
});
