/**
 * The webhook retry schedule as configured by default (docs/webhooks.md, "Backoff"): exponential with
 * jitter, over about three days before a delivery fails for good.
 */
import assert from "node:assert/strict";
import { loadConfig, LOCAL_ENV } from "../supabase/functions/_shared/config.ts";
import { retryDelaySeconds } from "../supabase/functions/_shared/jobs/queue.ts";

const DAY = 86400;

/** Seconds from the first attempt to the last, with every jitter drawn as `random` gives it. */
function span(random: () => number): number {
  const { maxAttempts, retryBaseSeconds, retryMaxSeconds } = loadConfig({ ...LOCAL_ENV }).webhooks;
  let total = 0;
  for (let attempt = 1; attempt < maxAttempts; attempt++) {
    total += retryDelaySeconds(attempt, retryBaseSeconds, retryMaxSeconds, random);
  }
  return total;
}

Deno.test("the default webhook schedule retries for two to four days, three on average", () => {
  assert.ok(span(() => 0) >= 2 * DAY, `shortest ${span(() => 0) / DAY} days`);
  assert.ok(span(() => 1) <= 4.1 * DAY, `longest ${span(() => 1) / DAY} days`);
  const average = span(() => 0.5) / DAY;
  assert.ok(average > 2.8 && average < 3.2, `average ${average} days`);
});

Deno.test("each wait doubles from a minute, capped at eight hours, jittered within its upper half", () => {
  const { retryBaseSeconds, retryMaxSeconds } = loadConfig({ ...LOCAL_ENV }).webhooks;
  assert.deepEqual(
    [1, 2, 3, 9, 10, 20].map((n) => retryDelaySeconds(n, retryBaseSeconds, retryMaxSeconds, () => 1)),
    [60, 120, 240, 15360, 28800, 28800],
  );
  assert.equal(retryDelaySeconds(1, retryBaseSeconds, retryMaxSeconds, () => 0), 30);
});
