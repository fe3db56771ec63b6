/**
 * What the email tests share: the API with a real SMTP server (the mail
 * catcher) on loopback, dispatchers pointed at it, and readers for what
 * arrives.
 */
import postgres from "postgres";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import type { EmailConfig } from "../../supabase/functions/_shared/email/config.ts";
import { createDispatcher, type Dispatcher } from "../../supabase/functions/_shared/email/dispatcher.ts";
import type { TemplateRenderer } from "../../supabase/functions/_shared/email/templates.ts";
import { createSmtpTransport, type MailTransport } from "../../supabase/functions/_shared/email/transport.ts";
import type { Runtime } from "../../supabase/functions/_shared/runtime.ts";
import { type CaughtMessage, type MailCatcherOptions, startMailCatcher } from "../../scripts/mail_catcher.ts";
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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
