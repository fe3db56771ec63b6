import type postgres from "postgres";
import { describeError, log } from "../log.ts";
import type { Dispatcher } from "./queue.ts";

export interface JobWorker {
  /** Lets jobs in flight finish, hands the rest back and stops. */
  stop(): Promise<void>;
}

export interface JobWorkerOptions {
  sql: postgres.Sql;
  dispatcher: Dispatcher;
  /** Names log lines ("email", "webhook"). */
  name: string;
  /** The NOTIFY channel the queue's insert trigger signals. */
  listen: string;
  /** Behind a transaction pooler no LISTEN works: poll alone. */
  pooled: boolean;
  pollIntervalMs: number;
}

/**
 * A dispatcher as a long-running process (`deno task start`, or a worker
 * script on a server of one's own): it sends whatever is due, then sleeps
 * until a job is queued (LISTEN on the channel the queue's insert trigger
 * NOTIFYs) or the poll interval passes, whichever comes first. The poll is
 * what picks up retries that fall due.
 */
export async function startJobWorker(options: JobWorkerOptions): Promise<JobWorker> {
  const { sql, dispatcher, name } = options;
  const stopping = new AbortController();

  // Set when woken during a round, so a job queued meanwhile is not left waiting for the poll.
  let woken = false;
  let wake = () => {
    woken = true;
  };
  // A transaction pooler hands the LISTEN's server connection to other clients: poll alone behind one.
  const listening = options.pooled ? null : await sql.listen(options.listen, () => wake()).catch((err) => {
    log("warn", `${name} worker cannot LISTEN; polling only`, describeError(err));
    return null;
  });

  const loop = (async () => {
    while (!stopping.signal.aborted) {
      woken = false;
      try {
        await dispatcher.dispatch({ signal: stopping.signal });
      } catch (err) {
        log("error", `${name} dispatch round failed`, describeError(err));
      }
      if (woken || stopping.signal.aborted) continue;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          stopping.signal.removeEventListener("abort", done);
          wake = () => {
            woken = true;
          };
          resolve();
        };
        const timer = setTimeout(done, options.pollIntervalMs);
        stopping.signal.addEventListener("abort", done);
        wake = done;
      });
    }
  })();

  return {
    async stop() {
      stopping.abort();
      await loop;
      await listening?.unlisten();
    },
  };
}
