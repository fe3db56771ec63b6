import type { z } from "zod";
import type { Runtime } from "../runtime.ts";
import type { FailedEmail, FailedEmailsQuery, FailedEmailsResponse, RetryEmailsRequest } from "../schemas.ts";
import { pageCursor } from "../cursor.ts";

const cursors = pageCursor("failed_at");
type PageEnd = ReturnType<typeof cursors.decode>;

type Page = { messages: z.infer<typeof FailedEmail>[]; next: PageEnd | null };

/**
 * The operators' side of failed email: a page of failed messages with their reasons
 * (app.list_failed_emails) and retrying one or all failed since a time (app.retry_failed_emails,
 * through app.retry_email).
 */
export function createFailedEmails(runtime: Runtime) {
  return {
    async list(
      query: z.output<typeof FailedEmailsQuery>,
      deadline: number,
    ): Promise<z.infer<typeof FailedEmailsResponse>> {
      const after = query.cursor === undefined ? null : cursors.decode(query.cursor);
      const [since, merchantId] = [query.since ?? null, query.merchant_id ?? null];
      const [afterAt, afterId] = [after?.failed_at ?? null, after?.id ?? null];
      // Times go as text: postgres.js sends a timestamptz parameter through a JS Date, which keeps
      // milliseconds only, and a cursor must name its row to the microsecond.
      const [{ page }] = await runtime.db.query(deadline, (sql) =>
        sql<{ page: Page }[]>`
          select app.list_failed_emails(${query.limit}::int, ${since}::text::timestamptz, ${merchantId}::uuid,
            ${afterAt}::text::timestamptz, ${afterId}::uuid) as page`);
      return { messages: page.messages, next_cursor: page.next ? cursors.encode(page.next) : null };
    },
    async retry(
      request: z.output<typeof RetryEmailsRequest>,
      deadline: number,
    ): Promise<{ retried: string[] }> {
      const [id, since, merchantId] = [
        request.id ?? null,
        request.failed_since ?? null,
        request.merchant_id ?? null,
      ];
      const [{ result }] = await runtime.db.query(deadline, (sql) =>
        sql<{ result: { retried: string[] } }[]>`
          select app.retry_failed_emails(${id}::uuid, ${since}::text::timestamptz, ${merchantId}::uuid) as result`);
      return result;
    },
  };
}
