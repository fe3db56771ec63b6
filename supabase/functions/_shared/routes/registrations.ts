import type { Hono } from "hono";
import { type AppEnv, createFunctionApp } from "../app.ts";
import { createAuthenticator } from "../auth.ts";
import type { Requirement } from "../config.ts";
import { ApiError } from "../errors.ts";
import { idempotencyKeyOf, IDEMPOTENT_REPLAYED_HEADER } from "../idempotency.ts";
import { createRegistrations } from "../registrations/registrations.ts";
import { GetRegistrationQuery, ListRegistrationsQuery } from "../registrations/schemas.ts";
import { validate } from "../request_body.ts";
import type { Runtime } from "../runtime.ts";
import { uuid } from "../schemas.ts";

export const REGISTRATIONS_FUNCTION = "registrations";
/** The settings it cannot start without (config.ts REQUIREMENTS). */
export const REGISTRATIONS_REQUIRES: readonly Requirement[] = ["databaseUrl", "supabaseUrl"];

const RegistrationId = uuid("The registration's id (profile_interview_id).");

/** A path's registration id; one that is not a UUID names no registration. */
function registrationId(id: string): string {
  if (!RegistrationId.safeParse(id).success) throw new ApiError(404, "Registration not found");
  return id;
}

/**
 * /registrations: what became of registered candidates. GET lists them (filtered, paginated), GET
 * /registrations/<id> shows one, POST /registrations/<id>/cancel cancels one. For the callers registration
 * takes; a merchant reaches its own and its sub-merchants' registrations, never another's.
 */
export function registrationsApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(REGISTRATIONS_FUNCTION, runtime.config);
  const authenticate = createAuthenticator(runtime.config);
  const registrations = createRegistrations(runtime);

  app.get("/", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const query = validate(ListRegistrationsQuery, c.req.query());
    return c.json(await registrations.list(caller, query, c.get("deadline")));
  });

  app.get("/:id", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const { merchant_id } = validate(GetRegistrationQuery, c.req.query());
    return c.json(
      await registrations.get(
        caller,
        merchant_id ?? null,
        registrationId(c.req.param("id")),
        c.get("deadline"),
      ),
    );
  });

  app.post("/:id/cancel", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const { merchant_id } = validate(GetRegistrationQuery, c.req.query());
    const id = registrationId(c.req.param("id"));
    const key = idempotencyKeyOf(c.req.raw.headers, `${REGISTRATIONS_FUNCTION}/${id}/cancel`, c.req.query());
    const { result, replayed } = await registrations.cancel(
      caller,
      merchant_id ?? null,
      id,
      key,
      c.get("deadline"),
    );
    if (replayed) c.header(IDEMPOTENT_REPLAYED_HEADER, "true");
    return c.json(result);
  });
  return app;
}
