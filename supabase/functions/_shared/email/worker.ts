import { describeError, log } from "../log.ts";
import type { Runtime } from "../runtime.ts";
import { createDispatcher } from "./dispatcher.ts";
import { createSmtpTransport, type MailTransport } from "./transport.ts";

export interface EmailWorker {
  /** Lets messages in flight finish, hands the rest back and stops. */
  stop(): Promise<void>;
}

export interface EmailWorkerOptions {
  /** Defaults to SMTP at `config.email.smtpUrl`, closed on stop. */
  transport?: MailTransport;
}

/**
 * The dispatcher as a long-running process (`deno task start`, or
 * scripts/email_worker.ts on a server of one's own): it sends whatever is
 * due, then sleeps until a message is queued (LISTEN email_outbox, which the
 * outbox's insert trigger NOTIFYs) or the poll interval passes, whichever
 * comes first. The poll is what picks up reminders and retries that fall due.
 */
export async function startEmailWorker(
  runtime: Pick<Runtime, "config" | "sql">,
  options: EmailWorkerOptions = {},
): Promise<EmailWorker> {
  const { sql, config } = runtime;
  const transport = options.transport ?? createSmtpTransport(config.email);
  const dispatcher = createDispatcher({ sql, config, transport });
  const stopping = new AbortController();

  // Set when woken during a round, so a message queued meanwhile is not left waiting for the poll.
  let woken = false;
  let wake = () => {
    woken = true;
  };
  // A transaction pooler hands the LISTEN's server connection to other clients: poll alone behind one.
  const listening = config.dbPooled ? null : await sql.listen("email_outbox", () => wake()).catch((err) => {
    log("warn", "email worker cannot LISTEN; polling only", describeError(err));
    return null;
  });

  const loop = (async () => {
    while (!stopping.signal.aborted) {
      woken = false;
      try {
        await dispatcher.dispatch({ signal: stopping.signal });
      } catch (err) {
        log("error", "email dispatch round failed", describeError(err));
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
        const timer = setTimeout(done, config.email.pollIntervalMs);
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
      if (!options.transport) transport.close();
    },
  };
}
