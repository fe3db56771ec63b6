import type { Hono } from "hono";
import { type AppEnv, createFunctionApp } from "../app.ts";
import { createAuthenticator } from "../auth.ts";
import { ApiError } from "../errors.ts";
import { createRegistrationReader } from "../registrations/read.ts";
import { GetRegistrationQuery, ListRegistrationsQuery } from "../registrations/schemas.ts";
import { validate } from "../request_body.ts";
import type { Runtime } from "../runtime.ts";
import { uuid } from "../schemas.ts";

export const REGISTRATIONS_FUNCTION = "registrations";

const RegistrationId = uuid("The registration's id (profile_interview_id).");

/**
 * /registrations: what became of registered candidates. GET lists them (filtered, paginated), GET
 * /registrations/<id> shows one. For the callers registration takes; a merchant sees its own and its
 * sub-merchants' registrations, never another's.
 */
export function registrationsApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(REGISTRATIONS_FUNCTION, runtime.config);
  const authenticate = createAuthenticator(runtime.config);
  const registrations = createRegistrationReader(runtime);

  app.get("/", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const query = validate(ListRegistrationsQuery, c.req.query());
    return c.json(await registrations.list(caller, query, c.get("deadline")));
  });

  app.get("/:id", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const { merchant_id } = validate(GetRegistrationQuery, c.req.query());
    const id = c.req.param("id");
    if (!RegistrationId.safeParse(id).success) throw new ApiError(404, "Registration not found");
    return c.json(await registrations.get(caller, merchant_id ?? null, id, c.get("deadline")));
  });
  return app;
}
