import type { Context, Hono } from "hono";
import { z } from "zod";
import { type AppEnv, createFunctionApp } from "../app.ts";
import { createAuthenticator } from "../auth.ts";
import type { Requirement } from "../config.ts";
import { ApiError } from "../errors.ts";
import { idempotencyKeyOf, IDEMPOTENT_REPLAYED_HEADER } from "../idempotency.ts";
import { createRegistrations } from "../registrations/registrations.ts";
import { GetRegistrationQuery, ListRegistrationsQuery } from "../registrations/schemas.ts";
import type { Operation } from "../operation.ts";
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

/** One registration's request as a single object: the path's id beside the query's merchant_id (MCP tools). */
export const RegistrationRequest = GetRegistrationQuery.extend({
  registration_id: z.string({ error: "Must be a string" }).meta({
    description: "The registration's id (profile_interview_id).",
    format: "uuid",
  }),
});

type Registrations = ReturnType<typeof createRegistrations>;

/**
 * The registrations function's work, request in, answer out, for its routes and the MCP tools
 * list_registrations, get_registration and cancel_registration. A request for one registration carries the
 * path's id as `registration_id`.
 */
export function registrationsOperations(runtime: Runtime): {
  list: Operation<Awaited<ReturnType<Registrations["list"]>>>;
  get: Operation<Awaited<ReturnType<Registrations["get"]>>>;
  cancel: Operation<Awaited<ReturnType<Registrations["cancel"]>>["result"]>;
} {
  const registrations = createRegistrations(runtime);
  return {
    list: async (caller, raw, { deadline }) => ({
      answer: await registrations.list(caller, validate(ListRegistrationsQuery, raw), deadline),
      replayed: false,
    }),
    get: async (caller, raw, { deadline }) => {
      const { merchant_id, registration_id } = validate(RegistrationRequest, raw);
      const id = registrationId(registration_id);
      return { answer: await registrations.get(caller, merchant_id ?? null, id, deadline), replayed: false };
    },
    cancel: async (caller, raw, { deadline, headers }) => {
      const { registration_id: _id, ...query } = raw;
      const { merchant_id, registration_id } = validate(RegistrationRequest, raw);
      const id = registrationId(registration_id);
      const key = idempotencyKeyOf(headers, `${REGISTRATIONS_FUNCTION}/${id}/cancel`, query);
      const { result, replayed } = await registrations.cancel(caller, merchant_id ?? null, id, key, deadline);
      return { answer: result, replayed };
    },
  };
}

/**
 * /registrations: what became of registered candidates. GET lists them (filtered, paginated), GET
 * /registrations/<id> shows one, POST /registrations/<id>/cancel cancels one. For the callers registration
 * takes; a merchant reaches its own and its sub-merchants' registrations, never another's.
 */
export function registrationsApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(REGISTRATIONS_FUNCTION, runtime.config);
  const authenticate = createAuthenticator(runtime.config);
  const registrations = registrationsOperations(runtime);
  const context = (c: Context<AppEnv>) => ({ deadline: c.get("deadline"), headers: c.req.raw.headers });

  app.get("/", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    return c.json((await registrations.list(caller, c.req.query(), context(c))).answer);
  });

  app.get("/:id", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const request = { ...c.req.query(), registration_id: c.req.param("id") };
    return c.json((await registrations.get(caller, request, context(c))).answer);
  });

  app.post("/:id/cancel", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const request = { ...c.req.query(), registration_id: c.req.param("id") };
    const { answer, replayed } = await registrations.cancel(caller, request, context(c));
    if (replayed) c.header(IDEMPOTENT_REPLAYED_HEADER, "true");
    return c.json(answer);
  });
  return app;
}
