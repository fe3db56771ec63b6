/**
 * What a long-running job `deno task start` runs beside the gateway is: today
 * the email dispatcher, with the local mail catcher when no SMTP_URL is set
 * (startLocalEmail in email_worker.ts), and the webhook dispatcher
 * (startLocalWebhooks in webhook_worker.ts).
 *
 * To add one, write a BackgroundWorkerStarter and append it to
 * BACKGROUND_WORKERS in start.ts: given the gateway's runtime and the shutdown
 * signal, it starts the job and returns its name (printed at startup) and how
 * to stop it.
 *
 * start.ts starts them in order once the database is ready and the gateway is
 * listening, and on Ctrl-C stops them (in reverse order) before the gateway and
 * the database. `signal` is aborted when shutdown begins.
 */
import type { Runtime } from "../supabase/functions/_shared/runtime.ts";

export interface BackgroundWorker {
  name: string;
  /** Where the emails it sends can be read on this machine (the mail catcher's page), if anywhere. */
  mailUrl?: string;
  /** Finish or abandon current work and release resources; awaited before the database stops. */
  stop(): Promise<void>;
}

export interface BackgroundWorkerContext {
  /** The config, and a database pool of the workers' own (no request deadlines: workers use the pool itself). */
  runtime: Pick<Runtime, "config" | "sql">;
  /** Aborted when shutdown begins. */
  signal: AbortSignal;
  /** Where the local mail catcher listens, when it runs (0: a free port). */
  mailPorts: { smtp: number; http: number };
}

export type BackgroundWorkerStarter = (
  context: BackgroundWorkerContext,
) => BackgroundWorker | Promise<BackgroundWorker>;
