import type postgres from "postgres";
import type { Config } from "../config.ts";
import { interviewTokenKey } from "../interviews/token.ts";
import { createJobDispatcher, type Dispatcher, type JobChannel } from "../jobs/queue.ts";
import { composeEmail } from "./message.ts";
import {
  checkEmails,
  type ClaimedEmail,
  claimEmails,
  type OutgoingEmail,
  recordFailure,
  recordSent,
  releaseEmails,
} from "./outbox.ts";
import { createTemplateRenderer, type TemplateRenderer } from "./templates.ts";
import { describeSendError, isPermanentFailure, type MailTransport } from "./transport.ts";

export type { Dispatcher, DispatchOptions, DispatchSummary } from "../jobs/queue.ts";

export interface DispatcherDeps {
  sql: postgres.Sql;
  config: Config;
  transport: MailTransport;
  render?: TemplateRenderer;
  /** Added to every log line, e.g. the id of the email-dispatch request this dispatcher serves. */
  logFields?: Record<string, unknown>;
}

/**
 * The email outbox as a channel of the job mechanism (_shared/jobs/queue.ts):
 * claims due messages (`app.claim_emails`), checks each slot right before it
 * is sent (`app.check_emails`: what was true at the claim, an open
 * registration or a live link, may not be by then; docs/email.md has the
 * window that remains), renders each message, sends it over SMTP and
 * records the outcomes. Any number of dispatchers, in any number of
 * processes, can run at once.
 */
export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { sql, config, transport } = deps;
  const email = config.email;
  const render = deps.render ?? createTemplateRenderer();
  const tokenKey = interviewTokenKey(config.interviewTokenSecret);

  const channel: JobChannel<ClaimedEmail, OutgoingEmail> = {
    name: "email",
    idField: "outbox_id",
    settings: email,
    async claim(limit) {
      const claim = await claimEmails(sql, limit, email.leaseSeconds, email.maxAttempts);
      return { claimId: claim.claimId, failed: claim.failed, jobs: claim.messages };
    },
    async check(slot, claimId) {
      const check = await checkEmails(sql, slot.map((m) => m.id), claimId);
      const ready = slot.filter((m) => check.cleared.has(m.id))
        .map((m) => ({ ...m, link: check.cleared.get(m.id) ?? null }));
      return { ready, cancelled: check.cancelled };
    },
    async attempt(message) {
      let mail;
      try {
        mail = await composeEmail(message, { config, interviewTokenKey: await tokenKey, render });
      } catch (err) {
        // A template or payload problem: the same attempt would fail the same way.
        return { ok: false, permanent: true, error: describeSendError(err) };
      }
      try {
        await transport.send(mail);
        return { ok: true };
      } catch (err) {
        return { ok: false, permanent: isPermanentFailure(err), error: describeSendError(err) };
      }
    },
    async record(outcome, claimId) {
      if (outcome.ok) {
        return await recordSent(sql, outcome.id, claimId, email.reminderScheduleSeconds) ? "sent" : null;
      }
      return await recordFailure(sql, outcome.id, claimId, outcome.error, outcome.retryAfterSeconds);
    },
    release: (ids, claimId) => releaseEmails(sql, ids, claimId),
    describe: (message) => ({ kind: message.kind }),
  };
  return createJobDispatcher(channel, deps.logFields);
}
