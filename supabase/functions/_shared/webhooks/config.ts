import type { QueueSettings } from "../jobs/queue.ts";

/**
 * Webhook delivery settings; config.ts reads them from the environment (WEBHOOK_*), with the defaults
 * docs/webhooks.md describes.
 */
export interface WebhookConfig extends QueueSettings {
  /** How often the long-running worker looks for due deliveries when nothing wakes it. */
  pollIntervalMs: number;
  /** How long one invocation of the webhook-dispatch function keeps sending. */
  dispatchBudgetSeconds: number;
  /** How many deliveries one invocation attempts at most. */
  dispatchMaxDeliveries: number;
  /** An endpoint whose every delivery failed for longer than this is disabled at its next failure. */
  disableAfterSeconds: number;
}
