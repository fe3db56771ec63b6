import assert from "node:assert/strict";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { asOwner, merchantWithEndpoint, OTHER_SECRET, SECRET } from "../_webhook_endpoints.ts";

const db = fileDatabase();

Deno.test(
  "rotate_webhook_endpoint_secret: the old secret kept for the grace period, or dropped with 0",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx);
    const rotate = (secret: string, grace: number) =>
      asOwner(
        tx,
        m,
        (sql, caller) =>
          sql`app.rotate_webhook_endpoint_secret(${caller}, null, ${m.endpoint.id}::uuid, ${secret}, ${grace})`,
      );
    const rotated = await rotate(OTHER_SECRET, 3600);
    assert.equal(rotated.secret, OTHER_SECRET);
    const [row] = await tx`select secret, previous_secret,
        previous_secret_expires_at = now() + interval '1 hour' as exact from webhook_endpoints
      where id = ${m.endpoint.id}`;
    assert.deepEqual({ ...row }, { secret: OTHER_SECRET, previous_secret: SECRET, exact: true });

    await rotate(SECRET, 0);
    const [after] = await tx`select secret, previous_secret, previous_secret_expires_at from webhook_endpoints
      where id = ${m.endpoint.id}`;
    assert.deepEqual({ ...after }, {
      secret: SECRET,
      previous_secret: null,
      previous_secret_expires_at: null,
    });
  }),
);
