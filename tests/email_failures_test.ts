/**
 * The operators' endpoint for failed email (email-failures): messages that really failed (an SMTP server
 * that refuses connections, one attempt allowed) are listed a page at a time with their reasons, retried
 * one by one or all since a time, and then delivered; refusals carry their reason into the access log.
 */
import assert from "node:assert/strict";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { userToken } from "./_support/credentials.ts";
import { invite, messagesTo, startEmailTestEnv, uniqueEmail } from "./_support/email.ts";
import { createMerchant } from "./_support/fixtures.ts";
import { callFunction } from "./_support/http.ts";
import { captureLogs } from "./_support/logs.ts";
import { sharedAcrossTests } from "./_support/suite.ts";

sharedAcrossTests();

/** An SMTP URL nothing listens on: every send fails at once with a connection refused. */
function refusingSmtpUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return `smtp://127.0.0.1:${port}`;
}

// deno-lint-ignore no-explicit-any
type Page = { messages: any[]; next_cursor: string | null };

Deno.test(
  "failed messages are listed with their reasons, page by page, and retried once each",
  async () => {
    const env = await startEmailTestEnv();
    try {
      const fixture = await createMerchant(env.sql);
      const addresses = Array.from({ length: 5 }, (_, i) => uniqueEmail(`failed-${i}`));
      await invite(env.server, fixture, addresses);
      const failing = await env.dispatchOnce({ smtpUrl: refusingSmtpUrl(), maxAttempts: 1 });
      // The dispatcher takes whatever is due in the shared database; these five are this test's.
      assert.ok(failing.failed >= 5, JSON.stringify(failing));
      const [{ failed }] = await env.sql<
        { failed: number }[]
      >`select count(*)::int as failed from email_outbox
        where merchant_id = ${fixture.merchantId} and status = 'failed'`;
      assert.equal(failed, 5);

      // All five within one millisecond, a microsecond apart: a page must end and resume to the microsecond.
      await env
        .sql`update email_outbox o set failed_at = date_trunc('milliseconds', now()) + r.n * interval '1 microsecond'
      from (select id, row_number() over (order by id) as n from email_outbox where merchant_id = ${fixture.merchantId}) r
      where o.id = r.id`;

      const list = (query: string) =>
        callFunction<Page>(
          env.server.functionsUrl,
          `email-failures?merchant_id=${fixture.merchantId}&${query}`,
          {
            method: "GET",
            token: LOCAL_SECRET_KEY,
          },
        );
      // Two at a time: three pages, each message once, most recently failed first.
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const reply: Awaited<ReturnType<typeof list>> = await list(
          `limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        );
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.ok(reply.body.messages.length <= 2);
        for (const message of reply.body.messages) {
          assert.equal(message.merchant_id, fixture.merchantId);
          assert.equal(message.kind, "invitation");
          assert.equal(message.attempts, 1);
          assert.match(message.reason, /ECONNREFUSED|refused/i, message.reason);
          seen.push(message.id);
        }
        cursor = reply.body.next_cursor;
        pages++;
      } while (cursor);
      const rows = await env.sql`select id, status, failed_at::text from email_outbox
      where merchant_id = ${fixture.merchantId} order by failed_at desc, id desc`;
      assert.equal(pages, 3, `pages of ${JSON.stringify(seen)} over ${JSON.stringify(rows)}`);
      assert.equal(new Set(seen).size, 5);
      const [{ ids }] = await env.sql<{ ids: string[] }[]>`
      select array_agg(id order by failed_at desc, id desc) as ids from email_outbox
      where merchant_id = ${fixture.merchantId} and status = 'failed'`;
      assert.deepEqual(seen, ids);

      const retry = (body: unknown) =>
        callFunction(env.server.functionsUrl, "email-failures/retry", { token: LOCAL_SECRET_KEY, body });
      // One by id: queued again with its attempts from zero; a second retry finds it no longer failed.
      const one = await retry({ id: seen[0] });
      assert.equal(one.status, 200, JSON.stringify(one.body));
      assert.deepEqual(one.body.retried, [seen[0]]);
      const [row] = await env.sql`select status, attempts, failed_at from email_outbox where id = ${seen[0]}`;
      assert.deepEqual({ ...row }, { status: "pending", attempts: 0, failed_at: null });
      const again = await retry({ id: seen[0] });
      assert.equal(again.status, 409);
      assert.match(again.body.error, /status: pending/);
      assert.equal((await retry({ id: crypto.randomUUID() })).status, 404);

      // All failed since a time, by several operators at once: each message retried by exactly one of them.
      const since = new Date(Date.now() - 60_000).toISOString();
      const replies = await Promise.all(
        Array.from({ length: 4 }, () => retry({ failed_since: since, merchant_id: fixture.merchantId })),
      );
      const retried = replies.flatMap((reply) => {
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        return reply.body.retried as string[];
      });
      assert.deepEqual(retried.toSorted(), seen.slice(1).toSorted());
      assert.deepEqual((await list("limit=10")).body.messages, []);

      // Retried messages go out with the next dispatch, each logged with its outbox id.
      const { result: sent, lines } = await captureLogs(() => env.dispatchOnce());
      assert.ok(sent.sent >= 5, JSON.stringify(sent));
      for (const address of addresses) {
        assert.equal(
          messagesTo(env.catcher.messages(), address).length,
          1,
          address,
        );
      }
      const logged = lines.map((line) => JSON.parse(line)).filter((line) => line.msg === "email sent");
      const loggedIds = new Set(logged.map((line) => line.outbox_id));
      assert.ok(seen.every((id) => loggedIds.has(id)), JSON.stringify(logged));
    } finally {
      await env.close();
    }
  },
);

Deno.test(
  "email-failures: the service key only, bad input refused with its reason in the access log",
  async () => {
    const env = await startEmailTestEnv();
    try {
      const fixture = await createMerchant(env.sql);
      const url = env.server.functionsUrl;
      const { result, lines } = await captureLogs(async () => ({
        none: await callFunction(url, "email-failures", { method: "GET" }),
        owner: await callFunction(url, "email-failures", {
          method: "GET",
          token: await userToken(fixture.ownerId),
        }),
        limit: await callFunction(url, "email-failures?limit=0", { method: "GET", token: LOCAL_SECRET_KEY }),
        cursor: await callFunction(url, "email-failures?cursor=abc", {
          method: "GET",
          token: LOCAL_SECRET_KEY,
        }),
        since: await callFunction(url, "email-failures?since=yesterday", {
          method: "GET",
          token: LOCAL_SECRET_KEY,
        }),
        both: await callFunction(url, "email-failures/retry", {
          token: LOCAL_SECRET_KEY,
          body: { id: crypto.randomUUID(), failed_since: new Date().toISOString() },
        }),
        neither: await callFunction(url, "email-failures/retry", { token: LOCAL_SECRET_KEY, body: {} }),
      }));
      assert.equal(result.none.status, 401);
      assert.equal(result.owner.status, 403);
      for (const name of ["limit", "cursor", "since", "both", "neither"] as const) {
        assert.equal(result[name].status, 422, `${name}: ${JSON.stringify(result[name].body)}`);
      }
      assert.equal(result.cursor.body.name, "cursor");
      assert.match(result.both.body.error, /either id or failed_since/);
      const access = lines.map((line) => JSON.parse(line)).filter((line) => line.msg === "request");
      const owner = access.find((line) => line.status === 403);
      assert.equal(owner?.level, "warn");
      assert.equal(owner?.reason, "Role not permitted");
      assert.ok(
        access.some((line) =>
          line.status === 422 && line.reason === "cursor: Not a cursor this endpoint returned"
        ),
      );
      assert.ok(
        access.every((line) => line.status < 400 || typeof line.reason === "string"),
        JSON.stringify(access),
      );
    } finally {
      await env.close();
    }
  },
);
