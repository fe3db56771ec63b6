/**
 * The webhook dispatcher as a long-running process.
 *
 * `deno task start` runs it in-process beside the functions (startLocalWebhooks, one of
 * BACKGROUND_WORKERS in start.ts); locally (JOBMOJITO_LOCAL=1) it may deliver to receivers on loopback.
 * Run on its own (`deno task webhook-worker`), it is a deployment option that needs no scheduler: it
 * delivers from the database at SUPABASE_DB_URL / DATABASE_URL, and any number of copies may run at
 * once. SIGINT / SIGTERM stop it cleanly.
 */
import { createRuntime } from "../supabase/functions/_shared/runtime.ts";
import { startWebhookWorker } from "../supabase/functions/_shared/webhooks/worker.ts";
import type { BackgroundWorker, BackgroundWorkerContext } from "./background_workers.ts";
import { shutdownSignal } from "./local_db.ts";

/** The webhook dispatcher for `deno task start`. */
export async function startLocalWebhooks({ runtime }: BackgroundWorkerContext): Promise<BackgroundWorker> {
  const worker = await startWebhookWorker(runtime);
  return { name: "webhook dispatcher", stop: () => worker.stop() };
}

if (import.meta.main) {
  const signal = shutdownSignal();
  const runtime = createRuntime();
  const worker = await startWebhookWorker(runtime);
  console.log("Webhook worker delivering due webhooks; Ctrl-C stops it.");
  await signal.promise;
  await worker.stop();
  await runtime.sql.end({ timeout: 5 });
  signal.dispose();
}
