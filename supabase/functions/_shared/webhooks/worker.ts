import { type JobWorker, startJobWorker } from "../jobs/worker.ts";
import type { Runtime } from "../runtime.ts";
import { createWebhookDispatcher, type WebhookDispatcherDeps } from "./dispatcher.ts";

/**
 * The webhook dispatcher as a long-running process (_shared/jobs/worker.ts), woken when deliveries are
 * queued (LISTEN webhook_deliveries); the poll picks up retries that fall due and replays.
 */
export function startWebhookWorker(
  runtime: Pick<Runtime, "config" | "sql">,
  options: Pick<WebhookDispatcherDeps, "resolve" | "fetch"> = {},
): Promise<JobWorker> {
  const { sql, config } = runtime;
  return startJobWorker({
    sql,
    dispatcher: createWebhookDispatcher({ sql, config, ...options }),
    name: "webhook",
    listen: "webhook_deliveries",
    pooled: config.dbPooled,
    pollIntervalMs: config.webhooks.pollIntervalMs,
  });
}
