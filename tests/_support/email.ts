/**
 * What the email tests share: the API with a real SMTP server (the mail
 * catcher) on loopback, dispatchers pointed at it, and readers for what
 * arrives.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { loadConfig, LOCAL_SECRET_KEY } from "../../supabase/functions/_shared/config.ts";
import type { EmailConfig } from "../../supabase/functions/_shared/email/config.ts";
import {
  createDispatcher,
  type Dispatcher,
  type DispatchSummary,
} from "../../supabase/functions/_shared/email/dispatcher.ts";
import type { TemplateRenderer } from "../../supabase/functions/_shared/email/templates.ts";
import { createSmtpTransport, type MailTransport } from "../../supabase/functions/_shared/email/transport.ts";
import type { Runtime } from "../../supabase/functions/_shared/runtime.ts";
import { type CaughtMessage, type MailCatcherOptions, startMailCatcher } from "../../scripts/mail_catcher.ts";
import type { MerchantFixture } from "./fixtures.ts";
import { callFunction } from "./http.ts";
import { startTestServer, type TestServer } from "./server.ts";

/** Settings that keep tests quick: short backoffs and timeouts, the rest as deployed. */
export function testEmailConfig(smtpUrl: string, overrides: Partial<EmailConfig> = {}): EmailConfig {
  return {
    ...loadConfig().email,
    smtpUrl,
    smtpConfigured: true,
    fromAddress: "no-reply@jobs.example",
    fromName: "Deployment Default",
    replyTo: null,
    retryBaseSeconds: 1,
    retryMaxSeconds: 8,
    sendTimeoutMs: 2000,
    leaseSeconds: 30,
    pollIntervalMs: 100,
    ...overrides,
  };
}

export interface EmailTestEnv {
  server: TestServer;
  catcher: Awaited<ReturnType<typeof startMailCatcher>>;
  sql: postgres.Sql;
  /** A dispatcher on the server's pool, sending to the catcher (or wherever `email` says). */
  dispatcher(email?: Partial<EmailConfig>, render?: TemplateRenderer): Dispatcher & { close(): void };
  /** Runs one such dispatcher until nothing is due, closes it and returns what it did. */
  dispatchOnce(email?: Partial<EmailConfig>): Promise<DispatchSummary>;
  close(): Promise<void>;
}

export async function startEmailTestEnv(
  email: Partial<EmailConfig> = {},
  catcherOptions: MailCatcherOptions = {},
): Promise<EmailTestEnv> {
  const catcher = await startMailCatcher(catcherOptions);
  const server = await startTestServer({ email: testEmailConfig(catcher.smtpUrl, email) });
  return {
    server,
    catcher,
    sql: server.runtime.sql,
    dispatcher(overrides = {}, render) {
      return dispatcherFor(server.runtime, server.runtime.sql, overrides, render);
    },
    async dispatchOnce(overrides = {}) {
      const dispatcher = dispatcherFor(server.runtime, server.runtime.sql, overrides);
      try {
        return await dispatcher.dispatch();
      } finally {
        dispatcher.close();
      }
    },
    async close() {
      await server.close();
      await catcher.close();
    },
  };
}

/** A dispatcher over `sql` with the runtime's settings, some overridden, and an SMTP transport of its own. */
export function dispatcherFor(
  runtime: Runtime,
  sql: postgres.Sql,
  overrides: Partial<EmailConfig> = {},
  render?: TemplateRenderer,
): Dispatcher & { close(): void; transport: MailTransport } {
  const config = { ...runtime.config, email: { ...runtime.config.email, ...overrides } };
  const transport = createSmtpTransport(config.email);
  const dispatcher = createDispatcher({ sql, config, transport, render });
  return { ...dispatcher, transport, close: () => transport.close() };
}

export interface InvitedRow {
  email: string;
  profile_id: string;
  profile_interview_id: string;
  interview_url: string;
}

/**
 * Registers the addresses for the fixture's interview with `type: "invitation"`
 * over HTTP (each gets an invitation queued), asserting that every row is ok.
 */
export async function invite(
  server: TestServer,
  fixture: Pick<MerchantFixture, "merchantId" | "interviewId">,
  addresses: string[],
): Promise<InvitedRow[]> {
  const reply = await callFunction(server.functionsUrl, "job-interview-register-users", {
    token: LOCAL_SECRET_KEY,
    body: {
      merchant_id: fixture.merchantId,
      interview_id: fixture.interviewId,
      type: "invitation",
      users: addresses.map((email) => ({ email })),
    },
  });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  assert.ok(reply.body.every((row: { result: string }) => row.result === "ok"), JSON.stringify(reply.body));
  return reply.body;
}

/** Messages whose envelope goes to `address`. */
export function messagesTo(messages: CaughtMessage[], address: string): CaughtMessage[] {
  return messages.filter((m) => m.envelope.to.some((to) => to.toLowerCase() === address.toLowerCase()));
}

/** The interview link in a message's plain-text part. */
export function linkInText(message: CaughtMessage): string {
  const match = message.parsed.text?.match(/https?:\/\/\S+interview_token=\S+/);
  if (!match) throw new Error(`No interview link in:\n${message.parsed.text}`);
  return match[0];
}

/** The href of the HTML part's button, with the HTML entities of the attribute decoded. */
export function linkInHtml(message: CaughtMessage): string {
  const match = message.parsed.html?.match(/<a href="([^"]+)"/);
  if (!match) throw new Error("No link in the HTML part");
  return match[1].replaceAll("&amp;", "&");
}

export function header(message: CaughtMessage, name: string): string | undefined {
  return message.parsed.headers.find((h) => h.key === name.toLowerCase())?.value;
}

/** A unique address for one test's candidate. */
export function uniqueEmail(label: string): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}@candidates.example`;
}

/** Moves a message's due time into the past: the test's way of letting time pass. */
export async function makeDue(sql: postgres.Sql, outboxId: string): Promise<void> {
  await sql`update email_outbox set send_after = now() - interval '1 second' where id = ${outboxId}`;
}

/**
 * Polls `condition` until it returns a truthy value, which it resolves with;
 * fails after `timeoutMs`. For waiting on something another process or
 * connection does, instead of sleeping for a guessed time.
 */
export async function waitFor<T>(
  what: string,
  condition: () => Promise<T> | T,
  timeoutMs = 15_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(25);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The backend running `query` (a fragment of its SQL) once it waits for a lock. */
export function lockWaiter(sql: postgres.Sql, query: string): Promise<number> {
  return waitFor(`a session running ${query} to wait for a lock`, async () => {
    const [row] = await sql<{ pid: number }[]>`select pid from pg_stat_activity
      where wait_event_type = 'Lock' and query like ${"%" + query + "%"} and pid <> pg_backend_pid()`;
    return row?.pid;
  });
}

/**
 * A mail catcher that holds the message to `address` until the test opens the gate: `arrived` resolves
 * when the server has it, and the dispatcher waits for the server's answer until `open()`.
 */
export async function startGatedCatcher(address: string) {
  const arrival = Promise.withResolvers<void>();
  const gate = Promise.withResolvers<void>();
  const catcher = await startMailCatcher({
    onMessage: (message) => {
      if (!message.envelope.to.includes(address)) return;
      arrival.resolve();
      return gate.promise;
    },
  });
  return Object.assign(catcher, { arrived: arrival.promise, open: () => gate.resolve() });
}

/**
 * A mail catcher that, once the message to `address` has first arrived, holds that outbox row locked from
 * another session: the dispatcher's record of the send then waits on the lock (see lockWaiter). `release()` ends
 * the hold; disposing of it releases and stops the catcher.
 */
export async function startRowHoldingCatcher(sql: postgres.Sql, address: string, outboxId: string) {
  const holder = await sql.reserve();
  // Only the first copy: a resend after the hold must go through.
  let armed = true;
  let holding = false;
  const catcher = await startMailCatcher({
    onMessage: async (message) => {
      if (!message.envelope.to.includes(address) || !armed) return;
      armed = false;
      await holder`begin`;
      await holder`select 1 from email_outbox where id = ${outboxId} for update`;
      holding = true;
    },
  });
  const release = async () => {
    if (holding) await holder`rollback`;
    holding = false;
  };
  return Object.assign(catcher, {
    release,
    async [Symbol.asyncDispose]() {
      await release();
      holder.release();
      await catcher.close();
    },
  });
}
