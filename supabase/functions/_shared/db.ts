import postgres from "postgres";
import type { Config } from "./config.ts";
import { ApiError } from "./errors.ts";
import { describeError, log } from "./log.ts";

/**
 * Requests reach PostgreSQL only through this module. It owns the three rules that keep an answered
 * request true under load and faults (docs/decisions.md, "Reliability"):
 *
 * 1. **A connection per transaction, from `begin` to its end.** Transactions use postgres.js's
 *    `sql.begin`, which reserves its connection, and the pool keeps its default pipelining depth, so the
 *    reservation always takes (a `max_pipeline` of 1 once let a `begin` run on a shared connection and
 *    hand it back to the pool inside the transaction).
 * 2. **Admission in arrival order.** At most `max` statements or transactions of this process are in
 *    the pool at once; the rest wait here, first come first served, instead of being dealt onto busy
 *    connections behind other requests' statements. A wait ends at the request's deadline.
 * 3. **Nothing commits after its deadline.** Every statement ends with a check of the deadline inside the
 *    database (`app.before_deadline`), so a statement that the server runs late (frozen, restarted,
 *    blocked on a lock) rolls back instead of committing for a client that has been told 503; a
 *    transaction makes the same check last, and carries statement and idle-in-transaction timeouts.
 *    The request stops waiting at the deadline plus `DEADLINE_GRACE_MS` and answers 503.
 */

/** How long past its deadline a request waits for the database's own verdict (clock skew, latency). */
export const DEADLINE_GRACE_MS = 1000;
/** What a request past its deadline is told to wait before retrying. */
const RETRY_AFTER_SECONDS = "5";

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
   * run on: every request statement here returns one.
   */
  query<T extends Row>(deadline: number, statement: (sql: postgres.ISql) => postgres.PendingQuery<T[]>): Promise<T[]>;
  /** Runs `work` in one transaction on a connection of its own, committed only before `deadline`. */
  transaction<T>(deadline: number, work: (tx: postgres.TransactionSql) => Promise<T>): Promise<T>;
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

/**
 * Waits for `work` until `until` (epoch ms); past it, calls `onLate` and throws the 503. `work` keeps its
 * own life: nobody waits for it any more, but it holds its connection until the database ends it.
 */
function waitUntil<T>(work: Promise<T>, until: number, onLate: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onLate();
      reject(deadlineExceeded());
      // The database's own check should have rolled it back; if it still commits, that is worth an alarm.
      work.then(
        () => log("error", "a statement committed after its request was answered 503", { until }),
        () => {},
      );
    }, Math.max(0, until - Date.now()));
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export function createDatabase(config: Config): Database {
  const sql = postgres(config.databaseUrl, {
    max: config.dbPoolSize,
    prepare: config.dbPrepare,
    idle_timeout: 30,
    connect_timeout: 5,
    // postgres.js backs off 3^n/100 s between reconnects, shared by the pool and up to 20 s: a database
    // back after a restart would wait that long for its first request. Capped at one second.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    onnotice: () => {},
    connection: { application_name: "jobmojito-functions" },
  });
  const permits = admission(config.dbPoolSize);

  async function admitted<T>(deadline: number, start: () => Promise<T>, onLate: () => void): Promise<T> {
    if (!await permits.acquire(deadline - Date.now())) throw deadlineExceeded();
    let work: Promise<T>;
    try {
      work = start();
    } catch (err) {
      permits.release();
      throw err;
    }
    // The permit follows the work, not the request: a request that gave up leaves its statement in the
    // pool until the database ends it, and the pool must not be dealt more than it has connections for.
    work.then(() => permits.release(), () => permits.release());
    return await waitUntil(work, deadline + DEADLINE_GRACE_MS, onLate);
  }

  return {
    sql,
    query<T extends Row>(
      deadline: number,
      statement: (sql: postgres.ISql) => postgres.PendingQuery<T[]>,
    ): Promise<T[]> {
      let pending: postgres.PendingQuery<T[]> | undefined;
      return admitted(deadline, () => {
        // A materialized CTE is computed before the outer filter runs: the check is the statement's last
        // step before its commit.
        pending = sql<T[]>`
          with result as materialized (${statement(sql)})
          select * from result where app.before_deadline(${new Date(deadline)})`;
        return pending.execute();
      }, () => {
        pending?.cancel();
      });
    },
    transaction<T>(deadline: number, work: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
      return admitted(
        deadline,
        () =>
          sql.begin(async (tx) => {
            // Server-side bounds for what the deadline cannot reach: a statement blocked on a lock, and a
            // transaction left open by a process that stopped answering.
            const budget = Math.max(1, deadline + DEADLINE_GRACE_MS - Date.now());
            await tx`select set_config('statement_timeout', ${String(budget)}, true),
              set_config('idle_in_transaction_session_timeout', ${String(budget)}, true)`;
            const result = await work(tx);
            await tx`select app.before_deadline(${new Date(deadline)})`;
            return result;
          }) as Promise<T>,
        () => {},
      );
    },
    async close(timeoutSeconds = 5) {
      await sql.end({ timeout: timeoutSeconds }).catch((err) =>
        log("warn", "closing the database pool", describeError(err))
      );
    },
  };
}
