import type { z } from "zod";
import { type Caller, callerSql } from "../auth.ts";
import { createOnce, type IdempotencyKey, type Once } from "../idempotency.ts";
import type { Runtime } from "../runtime.ts";
import type {
  CancelledRegistration,
  ListRegistrationsQuery,
  Registration,
  RegistrationList,
} from "./schemas.ts";

/**
 * Reading and cancelling registrations: one SQL call each, which also authorizes the caller like
 * registration does (app.acting_merchant) and reaches the acting merchant's and its sub-merchants'
 * registrations only.
 */
export function createRegistrations(runtime: Runtime) {
  const { db } = runtime;
  const once = createOnce(runtime);

  return {
    async get(
      caller: Caller,
      merchantId: string | null,
      id: string,
      deadline: number,
    ): Promise<z.infer<typeof Registration>> {
      const [{ result }] = await db.query(deadline, (sql) =>
        sql<{ result: z.infer<typeof Registration> }[]>`
          select app.get_registration(${
          callerSql(sql, caller)
        }, ${merchantId}::uuid, ${id}::uuid) as result`);
      return result;
    },

    async list(
      caller: Caller,
      query: z.output<typeof ListRegistrationsQuery>,
      deadline: number,
    ): Promise<z.infer<typeof RegistrationList>> {
      const [{ result }] = await db.query(
        deadline,
        (sql) =>
          sql<{ result: z.infer<typeof RegistrationList> }[]>`
          select app.list_registrations(
            ${callerSql(sql, caller)},
            ${query.merchant_id ?? null}::uuid,
            ${query.interview_id ?? null}::uuid,
            ${query.position_id ?? null}::uuid,
            ${query.external_id ?? null},
            ${query.email?.trim() ?? null},
            ${query.job_application_id ?? null},
            ${query.status ?? null},
            ${query.created_after ?? null}::timestamptz,
            ${query.created_before ?? null}::timestamptz,
            ${query.limit},
            ${query.offset}
          ) as result`,
      );
      return result;
    },

    cancel(
      caller: Caller,
      merchantId: string | null,
      id: string,
      idempotencyKey: IdempotencyKey | null,
      deadline: number,
    ): Promise<Once<z.infer<typeof CancelledRegistration>, null>> {
      return once(
        caller,
        merchantId,
        idempotencyKey,
        null,
        (sql) => sql`app.cancel_registration(${callerSql(sql, caller)}, ${merchantId}::uuid, ${id}::uuid)`,
        deadline,
      );
    },
  };
}
