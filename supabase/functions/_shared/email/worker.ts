import { type JobWorker, startJobWorker } from "../jobs/worker.ts";
import type { Runtime } from "../runtime.ts";
import { createDispatcher } from "./dispatcher.ts";
import { createSmtpTransport, type MailTransport } from "./transport.ts";

export type EmailWorker = JobWorker;

export interface EmailWorkerOptions {
  /** Defaults to SMTP at `config.email.smtpUrl`, closed on stop. */
  transport?: MailTransport;
}

/**
 * The email dispatcher as a long-running process (_shared/jobs/worker.ts), woken by the outbox's insert
 * trigger (LISTEN email_outbox); the poll picks up reminders and retries that fall due.
 */
export async function startEmailWorker(
  runtime: Pick<Runtime, "config" | "sql">,
  options: EmailWorkerOptions = {},
): Promise<EmailWorker> {
  const { sql, config } = runtime;
  const transport = options.transport ?? createSmtpTransport(config.email);
  const worker = await startJobWorker({
    sql,
    dispatcher: createDispatcher({ sql, config, transport }),
    name: "email",
    listen: "email_outbox",
    pooled: config.dbPooled,
    pollIntervalMs: config.email.pollIntervalMs,
  });
  return {
    async stop() {
      await worker.stop();
      if (!options.transport) transport.close();
    },
  };
}
