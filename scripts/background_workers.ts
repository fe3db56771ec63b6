/**
 * Long-running jobs `deno task start` runs beside the gateway (for example the
 * email dispatcher that works through queued invitation emails).
 *
 * To add one, append a starter to BACKGROUND_WORKERS:
 *
 *   BACKGROUND_WORKERS.push(async ({ runtime, signal }) => {
 *     const dispatcher = await startEmailDispatcher(runtime, { signal });
 *     return { name: "email-dispatcher", stop: () => dispatcher.stop() };
 *   });
 *
 * start.ts starts them in order once the database is ready and the gateway is
 * listening, and on Ctrl-C stops them (in reverse order) before the gateway and
 * the database. `signal` is aborted when shutdown begins.
 */
import type { Runtime } from "../supabase/functions/_shared/runtime.ts";
import { startLocalEmail } from "./email_worker.ts";

export interface BackgroundWorker {
  name: string;
  /** Finish or abandon current work and release resources; awaited before the database stops. */
  stop(): Promise<void>;
}

export interface BackgroundWorkerContext {
  /** The same runtime (config + database pool) the gateway's functions use. */
  runtime: Runtime;
  /** Aborted when shutdown begins. */
  signal: AbortSignal;
}

export type BackgroundWorkerStarter = (
  context: BackgroundWorkerContext,
) => BackgroundWorker | Promise<BackgroundWorker>;

/** Started by `deno task start` beside the gateway. */
export const BACKGROUND_WORKERS: BackgroundWorkerStarter[] = [
  // The email dispatcher, and the local mail catcher when no SMTP_URL is set.
  startLocalEmail,
];
