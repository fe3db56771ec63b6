/**
 * The SQL an operator runs on a fresh hosted project (README "Deploying to Supabase"):
 * app.bootstrap_merchant makes the first merchant, owner and interview, whom the API then serves; and
 * supabase/deploy/schedule_email_dispatch.sql schedules email-dispatch. pg_cron, pg_net and Vault do not
 * exist outside Supabase, so the schedule runs against stand-ins with their signatures, in a database of
 * its own, and the request its job would make is then sent, for real, to the email-dispatch function.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { userToken } from "./_support/credentials.ts";
import { callFunction } from "./_support/http.ts";
import { startTestServer } from "./_support/server.ts";
import { sharedAcrossTests } from "./_support/suite.ts";

sharedAcrossTests();

Deno.test(
  "app.bootstrap_merchant: the first merchant, owner and interview, ready for the API",
  async () => {
    await using server = await startTestServer();
    const sql = server.runtime.sql;
    const email = `owner-${crypto.randomUUID()}@bootstrap.example`;
    // On Supabase the owner is looked up in auth.users; here (no auth schema) the id is given.
    const ownerId = crypto.randomUUID();
    const [{ created }] = await sql`
    select app.bootstrap_merchant('Bootstrap Ltd', ${email}, 10, 'First screening', ${ownerId}::uuid) as created`;
    assert.equal(created.owner_id, ownerId);
    await assert.rejects(
      sql`select app.bootstrap_merchant('Again Ltd', ${email.toUpperCase()}, 10, 'Again', ${crypto.randomUUID()}::uuid)`,
      /already exists: this project is bootstrapped/,
    );
    await assert.rejects(
      sql`select app.bootstrap_merchant('Nobody Ltd', 'nobody@bootstrap.example', 10, 'None')`,
      /No Supabase Auth user has the email nobody@bootstrap.example/,
    );

    // With Supabase Auth's users table (made here inside a transaction that is rolled back), the owner is
    // found by email, whatever its case.
    const authUserId = crypto.randomUUID();
    const rollback = new Error("rollback");
    await assert.rejects(
      sql.begin(async (tx) => {
        await tx`create schema auth`;
        await tx`create table auth.users (id uuid primary key, email text)`;
        await tx`insert into auth.users values (${authUserId}, 'Found@Bootstrap.example')`;
        const [{ found }] = await tx`
        select app.bootstrap_merchant('Found Ltd', 'found@bootstrap.example', 5, 'Screening') as found`;
        assert.equal(found.owner_id, authUserId);
        throw rollback;
      }),
      (err) => err === rollback,
    );

    // The owner, signing in, registers a candidate: one credit spent.
    const reply = await callFunction(server.functionsUrl, "job-interview-register-users", {
      token: await userToken(ownerId),
      body: {
        interview_id: created.interview_id,
        type: "url",
        users: [{ email: "first@candidate.example" }],
      },
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body[0].result, "ok");
    const [{ interview_credits }] =
      await sql`select interview_credits from merchants where id = ${created.merchant_id}`;
    assert.equal(interview_credits, 9);
  },
);

/** pg_cron, pg_net and Vault, as far as the schedule file uses them. */
const STAND_INS = `
  create schema cron;
  create table cron.job (jobname text primary key, schedule text not null, command text not null);
  create table cron.job_run_details (end_time timestamptz);
  create function cron.schedule(job_name text, schedule text, command text) returns bigint language sql as $$
    insert into cron.job values (job_name, schedule, command)
    on conflict (jobname) do update set schedule = excluded.schedule, command = excluded.command;
    select 1::bigint $$;
  create schema net;
  create table net.requests (url text, body jsonb, headers jsonb, timeout_milliseconds integer);
  create function net.http_post(url text, body jsonb default '{}', params jsonb default '{}',
    headers jsonb default '{}', timeout_milliseconds integer default 5000) returns bigint language sql as $$
    insert into net.requests values (url, body, headers, timeout_milliseconds); select 1::bigint $$;
  create schema vault;
  create table vault.decrypted_secrets (name text primary key, decrypted_secret text);
`;

Deno.test("the schedule file: a job every 10 s whose request email-dispatch accepts", async () => {
  await using server = await startTestServer();
  const name = `schedule_${crypto.randomUUID().replaceAll("-", "")}`;
  await server.runtime.sql.unsafe(`create database ${name}`);
  const url = new URL(server.runtime.config.databaseUrl);
  url.pathname = `/${name}`;
  const db = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    await db.unsafe(STAND_INS);
    const file = await Deno.readTextFile(
      new URL("../supabase/deploy/schedule_email_dispatch.sql", import.meta.url),
    );
    // The stand-ins are schemas, not extensions: only the two create extension lines are left out.
    const script = file.replace(/^create extension if not exists pg_(cron|net);$/gm, "");
    assert.notEqual(script, file);
    await assert.rejects(db.unsafe(script), /Store the Vault secrets/);

    await db`insert into vault.decrypted_secrets values
      ('jobmojito_project_url', ${server.baseUrl}), ('jobmojito_service_key', ${LOCAL_SECRET_KEY})`;
    await db.unsafe(script);
    await db.unsafe(script); // Again: the jobs are replaced, not doubled.
    const jobs = await db`select jobname, schedule, command from cron.job order by jobname`;
    assert.deepEqual(jobs.map((job) => [job.jobname, job.schedule]), [
      ["jobmojito-cron-history", "17 3 * * *"],
      ["jobmojito-email-dispatch", "10 seconds"],
    ]);

    // What pg_net would send when the job runs, sent: email-dispatch takes it.
    await db.unsafe(jobs.find((job) => job.jobname === "jobmojito-email-dispatch")!.command);
    const [request] = await db`select url, body, headers, timeout_milliseconds from net.requests`;
    assert.equal(request.url, `${server.baseUrl}/functions/v1/email-dispatch`);
    assert.ok(!jobs.some((job) => job.command.includes(LOCAL_SECRET_KEY)), "no secret in the job");
    const res = await fetch(request.url, {
      method: "POST",
      headers: request.headers,
      body: JSON.stringify(request.body),
    });
    const summary = await res.json();
    assert.equal(res.status, 200, JSON.stringify(summary));
    assert.equal(typeof summary.claimed, "number");
    await db.unsafe(jobs.find((job) => job.jobname === "jobmojito-cron-history")!.command);
  } finally {
    await db.end({ timeout: 1 });
    await server.runtime.sql.unsafe(`drop database ${name} with (force)`);
  }
});

Deno.test("the webhook schedule file: a job every 10 s whose request webhook-dispatch accepts", async () => {
  await using server = await startTestServer();
  const name = `schedule_${crypto.randomUUID().replaceAll("-", "")}`;
  await server.runtime.sql.unsafe(`create database ${name}`);
  const url = new URL(server.runtime.config.databaseUrl);
  url.pathname = `/${name}`;
  const db = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    await db.unsafe(STAND_INS);
    const file = await Deno.readTextFile(
      new URL("../supabase/deploy/schedule_webhook_dispatch.sql", import.meta.url),
    );
    const script = file.replace(/^create extension if not exists pg_(cron|net);$/gm, "");
    assert.notEqual(script, file);
    await assert.rejects(db.unsafe(script), /Store the Vault secrets/);
    await db`insert into vault.decrypted_secrets values
      ('jobmojito_project_url', ${server.baseUrl}), ('jobmojito_service_key', ${LOCAL_SECRET_KEY})`;
    await db.unsafe(script);
    await db.unsafe(script);
    const jobs = await db`select jobname, schedule, command from cron.job order by jobname`;
    assert.deepEqual(jobs.map((job) => [job.jobname, job.schedule]), [
      ["jobmojito-cron-history", "17 3 * * *"],
      ["jobmojito-webhook-dispatch", "10 seconds"],
    ]);
    await db.unsafe(jobs.find((job) => job.jobname === "jobmojito-webhook-dispatch")!.command);
    const [request] = await db`select url, body, headers from net.requests`;
    assert.equal(request.url, `${server.baseUrl}/functions/v1/webhook-dispatch`);
    assert.ok(!jobs.some((job) => job.command.includes(LOCAL_SECRET_KEY)), "no secret in the job");
    const res = await fetch(request.url, {
      method: "POST",
      headers: request.headers,
      body: JSON.stringify(request.body),
    });
    const summary = await res.json();
    assert.equal(res.status, 200, JSON.stringify(summary));
    assert.equal(typeof summary.claimed, "number");
  } finally {
    await db.end({ timeout: 1 });
    await server.runtime.sql.unsafe(`drop database ${name} with (force)`);
  }
});
