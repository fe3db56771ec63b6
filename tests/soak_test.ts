/**
 * The mixed-load soak (scripts/soak.ts, `deno task soak`), short: over real HTTP against an embedded
 * PostgreSQL of its own, with two email dispatchers and a loopback SMTP catcher. Each run must have
 * exercised every operation, and every invariant must hold: a `200 ok` is in the database and its link
 * redeems once, an error wrote nothing, credits balance, no email twice, no session left in a
 * transaction, no 500, 503s only while the database was away, a request with an Idempotency-Key runs
 * once however often it is retried, and every webhook event of a committed change arrives once.
 */
import assert from "node:assert/strict";
import { runSoak, type SoakReport } from "../scripts/soak.ts";
import { sharedAcrossTests } from "./_support/suite.ts";

// Each run starts servers, pools and dispatchers of its own that outlive its awaits.
sharedAcrossTests();

function assertExercised(report: SoakReport) {
  for (const op of ["register", "mcp", "micro1", "invite", "redeem", "complete", "idempotent", "cancel"]) {
    assert((report.answers[op]?.["200"] ?? 0) > 0, `no ${op} succeeded: ${JSON.stringify(report.answers)}`);
  }
  assert((report.answers.invite?.["422"] ?? 0) > 0, "no invite-users request failed in its transaction");
  assert(report.emailsDelivered > 0, "no email was delivered");
  assert(report.webhooksDelivered > 0, "no webhook was delivered");
  assert(report.keyedRegistrations > 0, "no registration was made with an Idempotency-Key");
}

Deno.test("soak: mixed concurrent load keeps every invariant", async () => {
  const report = await runSoak({ seconds: 8, clients: 8, faults: false });
  assertExercised(report);
  assert.deepEqual(report.violations, []);
  assert.deepEqual(Object.values(report.answers).filter((byStatus) => byStatus["503"]), [], "no 503 at all");
});

Deno.test(
  "soak: the database frozen, then restarted, under load: nothing lost, every wait bounded",
  async () => {
    const report = await runSoak({
      seconds: 14,
      clients: 8,
      faults: true,
      freezeSeconds: 3,
      requestTimeoutMs: 2_000,
    });
    assertExercised(report);
    assert.deepEqual(report.violations, []);
    assert.deepEqual(report.faults.map((f) => f.kind), ["freeze", "restart"]);
    for (const fault of report.faults) {
      // Served again about a second after the database is back (the frozen statements finish, or the
      // pool reconnects with its backoff capped at a second).
      assert(fault.firstOkAfterMs !== null && fault.firstOkAfterMs < 2_000, JSON.stringify(fault));
    }
    // Requests during the freeze were answered 503 at their deadline, not held for the freeze.
    const answered503 = Object.values(report.answers).reduce((n, byStatus) => n + (byStatus["503"] ?? 0), 0);
    assert(answered503 > 0, "the freeze outlasted the deadline, so some requests must have been told 503");
  },
);
