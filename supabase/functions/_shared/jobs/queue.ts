/**
 * The one job mechanism: a queue table in PostgreSQL (the transactional
 * outbox), claimed with a lease by any number of dispatchers, each claim
 * checked right before it goes out, sent a slot at a time, each outcome
 * recorded, and what was not sent handed back. Emails (_shared/email/) and
 * webhooks (_shared/webhooks/) are two channels of it: a channel says how
 * its rows are claimed, checked, attempted, recorded and released (thin
 * calls to its SQL functions, which own the state machine), and this loop
 * does the rest the same way for both. docs/email.md and docs/webhooks.md
 * describe the guarantees; a new kind of outgoing job is a new channel.
 */

import { describeError, log } from "../log.ts";

/** How a channel's dispatchers claim, pace and retry. */
export interface QueueSettings {
  /** Attempts per job before it is marked failed. */
  maxAttempts: number;
  /** Delay after the first failed attempt; it doubles with each further one. */
  retryBaseSeconds: number;
  /** Cap on that delay. */
  retryMaxSeconds: number;
  /** How long a claimed job belongs to its dispatcher before others may take it over. */
  leaseSeconds: number;
  /** Jobs claimed per round trip. */
  batchSize: number;
  /** Jobs one dispatcher attempts at once (a slot). */
  concurrency: number;
  /** Longest one attempt may take before it counts as failed. */
  sendTimeoutMs: number;
}

export interface DispatchSummary {
  /** Jobs claimed; each is then sent, retried, failed, cancelled or released. */
  claimed: number;
  /** Sent (an email accepted by the SMTP server, a webhook answered 2xx), unless the record was lost. */
  sent: number;
  /** Failed this time, due again after a backoff. */
  retried: number;
  /** Failed for good: attempts exhausted, or a failure retrying cannot mend. */
  failed: number;
  /** Found unwanted right before sending (the channel's check said so). */
  cancelled: number;
  /** Handed back unsent: the dispatcher was stopping, running out of time, or ended by a database error. */
  released: number;
}

export interface DispatchOptions {
  /** A `performance.now()` time after which no further job is started. */
  deadline?: number;
  /** Aborting lets jobs in flight finish and hands the rest back. */
  signal?: AbortSignal;
  /** No more jobs than this are claimed. */
  maxMessages?: number;
}

export interface Dispatcher {
  /**
   * Sends due jobs until none are left, the deadline or maxMessages is reached, the signal aborts, or
   * sends are too slow for the lease; whatever of its claim it has not sent by then it hands back, also
   * when a database error ends it.
   */
  dispatch(options?: DispatchOptions): Promise<DispatchSummary>;
}

/** A claimed row: its id and its attempts so far, this one included. */
export interface QueuedJob {
  id: string;
  attempts: number;
}

export interface JobClaim<J> {
  claimId: string;
  /** Abandoned jobs that had had their last attempt, marked failed by the claim. */
  failed: number;
  /** Oldest due first. */
  jobs: J[];
}

/** A slot after the channel's check: the jobs to send now (with what the check added), and how many not. */
export interface SlotCheck<R> {
  ready: R[];
  cancelled: number;
}

/** What one attempt came to. `detail` is whatever the channel records besides (a receiver's answer). */
export type AttemptResult<D = undefined> =
  | { ok: true; detail?: D }
  | { ok: false; permanent: boolean; error: string; detail?: D };

/** An attempt's result as recorded: failures carry when to try again (null: never). */
export type JobOutcome<D = undefined> = AttemptResult<D> & { id: string; retryAfterSeconds: number | null };

/** A job's status after its record. */
export type RecordedStatus = "sent" | "pending" | "failed";

export interface JobChannel<J extends QueuedJob, R extends J, D = undefined> {
  /** Names the log lines: "email sent", "webhook dispatch", ... */
  name: string;
  /** The log field that carries a job's id ("outbox_id", "delivery_id"). */
  idField: string;
  settings: QueueSettings;
  claim(limit: number): Promise<JobClaim<J>>;
  /** One query for the whole slot, right before it is sent. */
  check(jobs: J[], claimId: string): Promise<SlotCheck<R>>;
  /** One attempt; resolves with its result (a refusal, a timeout, a broken payload), never rejects. */
  attempt(job: R): Promise<AttemptResult<D>>;
  /**
   * Records an attempt's outcome: the job's new status, or null when the claim had lost the job (its
   * lease ran out and another dispatcher took it over).
   */
  record(outcome: JobOutcome<D>, claimId: string): Promise<RecordedStatus | null>;
  /** Hands jobs back untouched: due again at once, the attempt not counted. Returns how many. */
  release(ids: string[], claimId: string): Promise<number>;
  /** Log fields of a job besides its id (an email's kind, a webhook's event type). */
  describe?(job: J): Record<string, unknown>;
}

/**
 * Seconds to wait after the attempt-th failed attempt: doubling from the base
 * up to the cap, then "equal jitter" (between half and all of it) so that
 * jobs that failed together, during one outage, do not all come back at
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
 * Claims due jobs, checks each slot of `concurrency` right before it is
 * sent, attempts the slot's jobs together and records each outcome as soon
 * as it is known. The next slot starts once this one's attempts are done,
 * its records still on their way: a record's commit is not on the path of
 * the next attempts. Any number of dispatchers, in any number of processes,
 * can run at once: the channel's claim hands each due job to exactly one.
 */
export function createJobDispatcher<J extends QueuedJob, R extends J, D>(
  channel: JobChannel<J, R, D>,
  logFields: Record<string, unknown> = {},
): Dispatcher {
  const { name, idField, settings } = channel;
  const note: typeof log = (level, message, fields = {}) => log(level, message, { ...logFields, ...fields });

  // An attempt only starts while the claim's lease can still cover a whole attempt
  // and, with as much again in hand, its record: a live dispatcher never sends
  // a job whose lease has run out, which another could have taken over.
  const leaseUsableMs = settings.leaseSeconds * 1000 - 2 * settings.sendTimeoutMs;

  /**
   * Runs a write that ends a claim's hold on jobs (a sent job's record, a hand-back), retrying until
   * `leaseEnd` (a `performance.now()` time): until then no other dispatcher can take the rows over, so a
   * database hiccup shorter than that costs neither a duplicate send nor a job left waiting out its
   * lease. A dispatcher told to stop gives up at once rather than hold its shutdown for the rest of the
   * lease: the outcome is that of a dispatcher that died there. Resolves with the write's result, or null
   * when it gave up (after logging `failure`).
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

    /**
     * Records one attempt's outcome; the outcome goes into the summary. A sent job's record is retried
     * while the lease lasts (losing it would send the job again); a failure's is tried once, and its error
     * ends the dispatch (losing it only repeats a failed attempt once the lease expires).
     */
    async function record(
      job: R,
      result: AttemptResult<D>,
      claimId: string,
      leaseEnd: number,
    ): Promise<void> {
      const fields = { [idField]: job.id, ...channel.describe?.(job), attempt: job.attempts };
      if (result.ok) {
        const status = await persistently(
          () => channel.record({ ...result, id: job.id, retryAfterSeconds: null }, claimId),
          leaseEnd,
          options.signal,
          {
            message: `could not record a sent ${name}: it will be sent again when its lease expires`,
            fields: { [idField]: job.id },
          },
        );
        if (status === null) {
          note("warn", `${name} sent after its claim was lost: it may be delivered twice`, fields);
        }
        note("info", `${name} sent`, fields);
        summary.sent++;
        return;
      }
      const giveUp = result.permanent || job.attempts >= settings.maxAttempts;
      const retryAfterSeconds = giveUp
        ? null
        : retryDelaySeconds(job.attempts, settings.retryBaseSeconds, settings.retryMaxSeconds);
      const status = await channel.record({ ...result, id: job.id, retryAfterSeconds }, claimId);
      if (status === "failed") summary.failed++;
      else if (status === "pending") summary.retried++;
      note(
        status === "failed" ? "error" : "warn",
        status === "failed" ? `${name} failed` : `${name} will be retried`,
        { ...fields, reason: result.error },
      );
    }

    while (!options.signal?.aborted && performance.now() < deadline && summary.claimed < maxMessages) {
      const claimedAt = performance.now();
      const limit = Math.min(settings.batchSize, maxMessages - summary.claimed);
      const claim = await channel.claim(limit);
      summary.failed += claim.failed;
      summary.claimed += claim.jobs.length;
      if (claim.jobs.length + claim.failed === 0) break;

      // Measured before the claim, so it ends no later than the lease the database gave it.
      const leaseEnd = claimedAt + settings.leaseSeconds * 1000;
      const sendBy = Math.min(deadline, claimedAt + leaseUsableMs);
      // Records run beside the next slot: a slot's attempts, not its records' commits, hold up the next.
      const records: Promise<void>[] = [];
      let recordFailure: { reason: unknown } | null = null;
      // The claim's jobs from this index on have not been handed to an attempt yet.
      let unsent = 0;
      try {
        while (unsent < claim.jobs.length) {
          if (recordFailure || options.signal?.aborted || performance.now() > sendBy) break;
          const slot = claim.jobs.slice(unsent, unsent + settings.concurrency);
          const check = await channel.check(slot, claim.claimId);
          unsent += slot.length;
          summary.cancelled += check.cancelled;
          // Each outcome is recorded as soon as it is known, while the rest of the slot may still be in
          // flight: a dispatcher that dies sends again only what it had not recorded.
          await Promise.all(check.ready.map(async (job) => {
            const result = await channel.attempt(job);
            records.push(
              record(job, result, claim.claimId, leaseEnd).catch((reason) => {
                recordFailure ??= { reason };
              }),
            );
          }));
        }
        // Every record settles before an error ends the dispatch (and before the caller closes its
        // connections); a failed one ends it.
        await Promise.all(records);
        if (recordFailure) throw (recordFailure as { reason: unknown }).reason;
      } finally {
        await Promise.all(records);
        // Stopping, past the deadline, sending too slowly for the lease (a struggling receiver), or a
        // database error: this dispatch ends, and what it hands back is due again at once for the next
        // one or another dispatcher instead of waiting out the lease.
        const handBack = claim.jobs.slice(unsent).map((job) => job.id);
        if (handBack.length > 0) {
          // In a database outage this fails too: it is retried while the lease (and the dispatch's own
          // deadline) lasts, and the error that ended the dispatch is the one to raise.
          summary.released += await persistently(
            () => channel.release(handBack, claim.claimId),
            Math.min(leaseEnd, deadline),
            options.signal,
            {
              message: `could not hand claimed ${name}s back: they are due again when their lease expires`,
              fields: { [`${idField}s`]: handBack },
            },
          ) ?? 0;
        }
      }
      if (unsent < claim.jobs.length) break;
    }
    if (summary.claimed + summary.failed > 0) {
      note("info", `${name} dispatch`, { ...summary });
    }
    return summary;
  }

  return { dispatch };
}
