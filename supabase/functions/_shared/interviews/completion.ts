import type { z } from "zod";
import type { Runtime } from "../runtime.ts";
import type { CompleteInterviewResponse } from "../schemas.ts";

/**
 * Marks a registration completed on the interview app's word, queueing the
 * candidate's completion email in the same transaction when they are on the
 * email chain. `app.complete_registration` makes it idempotent and race-free.
 */
export function createCompleter(runtime: Runtime) {
  return async function complete(
    profileInterviewId: string,
    deadline: number,
  ): Promise<z.infer<typeof CompleteInterviewResponse>> {
    const [{ result }] = await runtime.db.query(
      deadline,
      (sql) =>
        sql<{ result: z.infer<typeof CompleteInterviewResponse> }[]>`
        select app.complete_registration(${profileInterviewId}::uuid) as result`,
    );
    return result;
  };
}
