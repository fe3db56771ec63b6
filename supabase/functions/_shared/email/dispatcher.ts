import type postgres from "postgres";
import type { Config } from "../config.ts";
import { interviewTokenKey } from "../interviews/token.ts";
import { describeError, log } from "../log.ts";
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

export interface DispatchSummary {
  /** Messages claimed; each is then sent, retried, failed, cancelled or released. */
  claimed: number;
  /** Accepted by the SMTP server (recorded as sent, unless the database failed us: see docs/email.md). */
  sent: number;
  /** Failed this time, due again after a backoff. */
  retried: number;
  /** Failed for good: attempts exhausted, a recipient refused, or a message that cannot be rendered. */
  failed: number;
  /**
   * Found unwanted right before sending: registration or interview closed, interview started, link used,
   * revoked or expired, invitation superseded.
   */
  cancelled: number;
  /** Handed back unsent: the dispatcher was stopping, running out of time, or ended by a database error. */
  released: number;
}

export interface DispatchOptions {
  /** A `performance.now()` time after which no further message is started. */
  deadline?: number;
  /** Aborting lets messages in flight finish and hands the rest back. */
  signal?: AbortSignal;
  /** No more messages than this are claimed. */
  maxMessages?: number;
}

export interface Dispatcher {
  /**
   * Sends due messages until none are left, the deadline or maxMessages is reached, the signal aborts, or
   * sends are too slow for the lease; whatever of its claim it has not sent by then it hands back, also
   * when a database error ends it.
   */
  dispatch(options?: DispatchOptions): Promise<DispatchSummary>;
}

export interface DispatcherDeps {
  sql: postgres.Sql;
  config: Config;
  transport: MailTransport;
  render?: TemplateRenderer;
  /** Added to every log line, e.g. the id of the email-dispatch request this dispatcher serves. */
  logFields?: Record<string, unknown>;
}

/**
 * Seconds to wait after the attempt-th failed attempt: doubling from the base
 * up to the cap, then "equal jitter" (between half and all of it) so that
 * messages that failed together, during one outage, do not all come back at
 * the same instant.
 */
export function retryDelaySeconds(
  attempt: number,
  baseSeconds: number,
  maxSeconds: number,
  random: () => number = Math.random,
): number {
  const full = Math.min(maxSeconds, baseSeconds * 2 ** (attempt - 1));
  return full / 2 + random() * (full / 2);
}

/**
 * Claims due outbox messages, checks them again right before sending,
 * renders them, sends them over SMTP and records each outcome. Any number of
 * dispatchers, in any number of processes, can run at once:
 * `app.claim_emails` hands each due message to exactly one.
 *
 * A claim is sent in slots of `concurrency` messages, one slot at a time, and
 * each slot is checked (`app.check_emails`, one query) just before its
 * messages go out together: a message may wait most of a lease for its slot,
 * and what was true at the claim (an open registration, a live link) may not
 * be by then. docs/email.md has the window that remains.
 */
export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { sql, config, transport } = deps;
  const email = config.email;
  const render = deps.render ?? createTemplateRenderer();
  const note: typeof log = (level, message, fields = {}) =>
    log(level, message, { ...deps.logFields, ...fields });
  const tokenKey = interviewTokenKey(config.interviewTokenSecret);

  // A send only starts while the claim's lease can still cover a whole send
  // and, with as much again in hand, its record: a live dispatcher never sends
  // a message whose lease has run out, which another could have taken over.
  const leaseUsableMs = email.leaseSeconds * 1000 - 2 * email.sendTimeoutMs;

  /**
   * Runs a write that ends a claim's hold on messages (a sent message's record, a hand-back), retrying
   * until `leaseEnd` (a `performance.now()` time): until then no other dispatcher can take the rows over,
   * so a database hiccup shorter than that costs neither a duplicate send nor a message left waiting out
   * its lease. A dispatcher told to stop gives up at once rather than hold its shutdown for the rest of
   * the lease: the outcome is that of a dispatcher that died there. Resolves with the write's result, or
   * null when it gave up (after logging `failure`).
   */
  async function persistently<T>(
    write: () => Promise<T>,
    leaseEnd: number,
    signal: AbortSignal | undefined,
    failure: { message: string; fields: Record<string, unknown> },
  ): Promise<T | null> {
    for (let attempt = 1;; attempt++) {
      try {
        return await write();
      } catch (err) {
        const pause = Math.min(200 * attempt, 1000, leaseEnd - performance.now());
        if (pause <= 0 || signal?.aborted) {
          note("error", failure.message, { ...failure.fields, ...describeError(err) });
          return null;
        }
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  /** Records a message the server has accepted: giving up means sending it again once the lease expires. */
  async function recordSentPersistently(
    message: ClaimedEmail,
    claimId: string,
    leaseEnd: number,
    signal: AbortSignal | undefined,
  ) {
    const recorded = await persistently(
      () => recordSent(sql, message.id, claimId, email.reminderScheduleSeconds),
      leaseEnd,
      signal,
      {
        message: "could not record a sent email: it will be sent again when its lease expires",
        fields: { outbox_id: message.id },
      },
    );
    if (recorded === false) {
      note("warn", "email sent after its claim was lost: it may be delivered twice", {
        outbox_id: message.id,
      });
    }
  }

  async function recordAttemptFailure(
    message: ClaimedEmail,
    claimId: string,
    err: unknown,
    permanent: boolean,
  ): Promise<"pending" | "failed" | null> {
    const giveUp = permanent || message.attempts >= email.maxAttempts;
    const reason = describeSendError(err);
    const status = await recordFailure(
      sql,
      message.id,
      claimId,
      reason,
      giveUp ? null : retryDelaySeconds(message.attempts, email.retryBaseSeconds, email.retryMaxSeconds),
    );
    note(
      status === "failed" ? "error" : "warn",
      status === "failed" ? "email failed" : "email will be retried",
      {
        outbox_id: message.id,
        kind: message.kind,
        attempt: message.attempts,
        reason,
      },
    );
    return status;
  }

  async function dispatch(options: DispatchOptions = {}): Promise<DispatchSummary> {
    const summary: DispatchSummary = {
      claimed: 0,
      sent: 0,
      retried: 0,
      failed: 0,
      cancelled: 0,
      released: 0,
    };
    const deadline = options.deadline ?? Infinity;
    const maxMessages = options.maxMessages ?? Infinity;
    const composeDeps = { config, interviewTokenKey: await tokenKey, render };

    /** Renders, sends and records one message; the outcome goes into the summary. */
    async function deliver(message: OutgoingEmail, claimId: string, leaseEnd: number): Promise<void> {
      let mail;
      try {
        mail = await composeEmail(message, composeDeps);
      } catch (err) {
        // A template or payload problem: the same attempt would fail the same way.
        if (await recordAttemptFailure(message, claimId, err, true) === "failed") summary.failed++;
        return;
      }
      try {
        await transport.send(mail);
      } catch (err) {
        const status = await recordAttemptFailure(message, claimId, err, isPermanentFailure(err));
        if (status === "failed") summary.failed++;
        else if (status === "pending") summary.retried++;
        return;
      }
      // Recorded as soon as the server has it, not with the rest of its slot: a dispatcher that dies
      // now sends again only what it had not recorded (docs/email.md, "Recording").
      await recordSentPersistently(message, claimId, leaseEnd, options.signal);
      note("info", "email sent", { outbox_id: message.id, kind: message.kind, attempt: message.attempts });
      summary.sent++;
    }

    while (!options.signal?.aborted && performance.now() < deadline && summary.claimed < maxMessages) {
      const claimedAt = performance.now();
      const limit = Math.min(email.batchSize, maxMessages - summary.claimed);
      const claim = await claimEmails(sql, limit, email.leaseSeconds, email.maxAttempts);
      summary.failed += claim.failed;
      summary.claimed += claim.messages.length;
      if (claim.messages.length + claim.failed === 0) break;

      // Measured before the claim, so it ends no later than the lease the database gave it.
      const leaseEnd = claimedAt + email.leaseSeconds * 1000;
      const sendBy = Math.min(deadline, claimedAt + leaseUsableMs);
      // The claim's messages from this index on have not been handed to a send yet.
      let unsent = 0;
      try {
        while (unsent < claim.messages.length) {
          if (options.signal?.aborted || performance.now() > sendBy) break;
          const slot = claim.messages.slice(unsent, unsent + email.concurrency);
          const check = await checkEmails(sql, slot.map((m) => m.id), claim.claimId);
          unsent += slot.length;
          summary.cancelled += check.cancelled;
          // The whole slot settles before an error ends the dispatch: a send still in flight must finish
          // (and be recorded) before the caller closes the SMTP connections.
          const outcomes = await Promise.allSettled(
            slot.filter((m) => check.cleared.has(m.id)).map((m) =>
              deliver({ ...m, link: check.cleared.get(m.id) ?? null }, claim.claimId, leaseEnd)
            ),
          );
          const failure = outcomes.find((o) => o.status === "rejected");
          if (failure) throw failure.reason;
        }
      } finally {
        // Stopping, past the deadline, sending too slowly for the lease (a struggling server), or a
        // database error: this dispatch ends, and what it hands back is due again at once for the next
        // one or another dispatcher instead of waiting out the lease.
        const handBack = claim.messages.slice(unsent).map((m) => m.id);
        if (handBack.length > 0) {
          // In a database outage this fails too: it is retried while the lease (and the dispatch's own
          // deadline) lasts, and the error that ended the dispatch is the one to raise.
          summary.released += await persistently(
            () => releaseEmails(sql, handBack, claim.claimId),
            Math.min(leaseEnd, deadline),
            options.signal,
            {
              message: "could not hand claimed emails back: they are due again when their lease expires",
              fields: { outbox_ids: handBack },
            },
          ) ?? 0;
        }
      }
      if (unsent < claim.messages.length) break;
    }
    if (summary.claimed + summary.failed > 0) {
      note("info", "email dispatch", { ...summary });
    }
    return summary;
  }

  return { dispatch };
}
