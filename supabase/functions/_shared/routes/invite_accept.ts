import type { Hono } from "hono";
import { type AppEnv, createFunctionApp } from "../app.ts";
import type { Requirement } from "../config.ts";
import { createAuthenticator } from "../auth.ts";
import { createInvitationAccepter } from "../invitations/accept.ts";
import { InviteAcceptRequest } from "../invitations/schemas.ts";
import { readJsonObject, validate } from "../request_body.ts";
import type { Runtime } from "../runtime.ts";

export const INVITE_ACCEPT_FUNCTION = "invite-accept";
/** The settings it cannot start without (config.ts REQUIREMENTS). */
export const INVITE_ACCEPT_REQUIRES: readonly Requirement[] = [
  "databaseUrl",
  "supabaseUrl",
  "invitationTokenSecret",
];

/** POST /invite-accept: the invited person, signed in as the invited email, accepts their one-time link. */
export function inviteAcceptApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(INVITE_ACCEPT_FUNCTION, runtime.config);
  const authenticate = createAuthenticator(runtime.config);
  const accept = createInvitationAccepter(runtime);

  app.post("/", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const { invitation_token } = validate(InviteAcceptRequest, await readJsonObject(c));
    return c.json(await accept(caller, invitation_token, c.get("deadline")));
  });
  return app;
}
