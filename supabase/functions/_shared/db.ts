import postgres from "postgres";
import type { Config } from "./config.ts";
import { ApiError } from "./errors.ts";
import { describeError, log } from "./log.ts";

/**
 * Requests reach PostgreSQL only through this module, and only as single statements. The rules that keep
 * an answered request true under load and faults (docs/decisions.md, "Reliability"):
 *
 * 1. **One statement per request, no client-side transactions.** What a request does atomically is one
 *    SQL function call. postgres.js 3.4.9 mishandles a `sql.begin` transaction whose connection is
 *    shared or dies (with `max_pipeline: 1` a `begin` could run unreserved and leave its transaction
 *    open on a pooled connection; a connection lost mid-transaction crashes the process from its own
 *    ROLLBACK), so requests do not use them.
 * 2. **Admission in arrival order.** At most `STATEMENTS_PER_CONNECTION` statements per pooled connection
 *    are in the pool at once; the rest wait here, first come first served, rather than being dealt
 *    round-robin into the backlogs of busy connections. The wait ends at the request's deadline.
 * 3. **Nothing commits after its deadline.** Each statement ends with `app.before_deadline`, so a
 *    statement the server finishes late (frozen, restarted, blocked on a lock) rolls back instead of
 *    committing for a client that was told 503. The request stops waiting at the deadline plus
 *    `DEADLINE_GRACE_MS`, cancels the statement and answers 503 with Retry-After.
 * 4. **No stale errors.** postgres.js hands the error that ended a connection's server session to the
 *    first statement of its next session, which never ran: such a statement is sent again.
 * 5. **No crossed replies.** After a connection fault postgres.js can hand a statement another statement's
 *    reply (seen in the soak: a worker's row decoded with a request's column types). Every statement
 *    returns the nonce it was sent with in each row; a reply without it, with another, or that cannot be
 *    read is treated as a lost connection (503, outcome unknown), never as the request's answer.
 */

/**
 * Statements let into the pool per connection: one running, and one already on the wire behind it, so that
 * a connection does not sit idle while the API reads one answer and sends the next statement. The pool had
 * this shape before (postgres.js's `max_pipeline: 1`); with one per connection the bench's single-user
 * throughput fell to 56-60% of it (259 against 461 req/s, its cores 57% busy, 2026-11-30).
 */
const STATEMENTS_PER_CONNECTION = 2;

/** How long past its deadline a request waits for the database's own verdict (clock skew, latency). */
export const DEADLINE_GRACE_MS = 1000;
/** What a request past its deadline is told to wait before retrying. */
const RETRY_AFTER_SECONDS = "5";

/**
 * Errors that end a server session. postgres.js reports the one that ended a statement's own session as
 * CONNECTION_CLOSED (the server hung up before saying ready), and keeps it for the connection's next
 * statement, which gets it before being sent: a statement failing with one of these never ran.
 */
const ENDED_SESSION_CODES = new Set([
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "25P03", // idle_in_transaction_session_timeout
  "25P04", // transaction_timeout
]);

export function deadlineExceeded(): ApiError {
  return new ApiError(503, "The database did not answer in time, retry later", undefined, {
    "Retry-After": RETRY_AFTER_SECONDS,
  });
}

type Row = Record<string, unknown>;

export interface Database {
  /** The pool itself, for work that no request waits on (workers, scripts, tests). */
  sql: postgres.Sql;
  /**
   * Runs one statement (the fragment `statement` builds) as its own transaction, committed only if the
   * database finishes it before `deadline` (epoch ms). The statement must return rows for the check to
   * run on: every request statement returns one.
   */
  query<T extends Row>(
    deadline: number,
    statement: (sql: postgres.ISql) => postgres.PendingQuery<T[]>,
  ): Promise<T[]>;
  close(timeoutSeconds?: number): Promise<void>;
}

/** First come, first served permits; a waiter that gives up leaves the queue. */
function admission(permits: number) {
  let free = permits;
  const waiting: (() => void)[] = [];
  return {
    acquire(timeoutMs: number): Promise<boolean> {
      if (free > 0 && waiting.length === 0) {
        free--;
        return Promise.resolve(true);
      }
      if (timeoutMs <= 0) return Promise.resolve(false);
      return new Promise((resolve) => {
        const grant = () => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(grant), 1);
          resolve(false);
        }, timeoutMs);
        waiting.push(grant);
      });
    },
    release(): void {
      const next = waiting.shift();
      if (next) next();
      else free++;
    },
  };
}

/** A statement's reply that is not its own (rule 5): logged, and answered as a lost connection. */
function lostReply(message: string, cause?: unknown): Error {
  log("error", message, cause === undefined ? {} : describeError(cause));
  return Object.assign(new Error(message), { code: "CONNECTION_LOST" });
}

function endedSession(err: unknown): boolean {
  return err instanceof postgres.PostgresError && ENDED_SESSION_CODES.has(err.code);
}

export function createDatabase(config: Config): Database {
  const sql = postgres(config.databaseUrl, {
    max: config.dbPoolSize,
    prepare: config.dbPrepare,
    idle_timeout: 30,
    connect_timeout: 5,
    // postgres.js backs off 3^n/100 s between reconnects, shared by the pool and up to 20 s: a database
    // back after a restart waited that long for its first request. Capped at one second.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    onnotice: () => {},
    connection: { application_name: "jobmojito-functions" },
  });
  const permits = admission(config.dbPoolSize * STATEMENTS_PER_CONNECTION);

  /** One attempt: a permit, the statement with its deadline check, and a wait bounded by the deadline. */
  async function attempt<T extends Row>(
    deadline: number,
    statement: (sql: postgres.ISql) => postgres.PendingQuery<T[]>,
  ): Promise<T[]> {
    if (!await permits.acquire(deadline - Date.now())) throw deadlineExceeded();
    let pending: postgres.PendingQuery<(T & { reply_for?: string })[]>;
    let running: Promise<(T & { reply_for?: string })[]>;
    // Every row of the reply names the statement it answers (rule 5).
    const nonce = crypto.randomUUID();
    try {
      // A materialized CTE is computed before the outer filter runs: the check is the statement's last
      // step before its commit.
      pending = sql<(T & { reply_for?: string })[]>`
        with result as materialized (${statement(sql)})
        select result.*, ${nonce}::text as reply_for from result
        where app.before_deadline(${new Date(deadline)})`;
      running = pending.execute();
    } catch (err) {
      permits.release();
      throw err;
    }
    // The permit follows the statement, not the request: one the request gave up on keeps its connection
    // until the database ends it, and the pool must not be dealt more statements than it is admitting.
    running.then(() => permits.release(), () => permits.release());

    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Settled first: cancelling a statement not yet sent rejects it at once, with a 57014.
        reject(deadlineExceeded());
        pending.cancel();
        // The database's own check rolls it back; a commit now would be one for a client told 503.
        running.then(
          () => log("error", "a statement committed after its request was answered 503", { deadline }),
          () => {},
        );
      }, Math.max(0, deadline + DEADLINE_GRACE_MS - Date.now()));
    });
    let rows: (T & { reply_for?: string })[];
    try {
      rows = await Promise.race([running, late]);
    } catch (err) {
      // The database's errors, the connection's and the deadline's carry a code (db_errors.ts). Anything
      // else is a reply postgres.js could not read as this statement's, such as another statement's row
      // decoded with this one's column types: the outcome is unknown.
      if (
        err instanceof postgres.PostgresError || err instanceof ApiError ||
        typeof (err as { code?: unknown } | null)?.code === "string"
      ) {
        throw err;
      }
      throw lostReply("a statement's reply could not be read as its own", err);
    } finally {
      clearTimeout(timer);
    }
    // Every request statement returns a row. None means postgres.js lost the connection after sending
    // the statement and took a later session's first reply for its answer: the outcome is unknown.
    if (rows.length === 0) throw lostReply("a statement was answered with no row");
    if (rows.some((row) => row.reply_for !== nonce)) {
      throw lostReply("a statement was answered with another's reply");
    }
    for (const row of rows) delete row.reply_for;
    return rows;
  }

  return {
    sql,
    async query(deadline, statement) {
      // Each connection holds at most one stale error: more attempts than connections cannot be needed.
      for (let tries = 1;; tries++) {
        try {
          return await attempt(deadline, statement);
        } catch (err) {
          if (!endedSession(err) || tries > config.dbPoolSize || Date.now() >= deadline) throw err;
        }
      }
    },
    async close(timeoutSeconds = 5) {
      await sql.end({ timeout: timeoutSeconds }).catch((err) =>
        log("warn", "closing the database pool", describeError(err))
      );
    },
  };
}
