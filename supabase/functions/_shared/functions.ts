import type { Hono } from "hono";
import type { AppEnv } from "./app.ts";
import type { Runtime } from "./runtime.ts";
import { registerUsersApp } from "./routes/register_users.ts";
import { interviewTokenRedeemApp } from "./routes/interview_token_redeem.ts";
import { openapiApp } from "./routes/openapi.ts";
import { emailDispatchApp } from "./routes/email_dispatch.ts";
import { interviewCompleteApp } from "./routes/interview_complete.ts";
import { inviteUsersApp } from "./routes/invite_users.ts";
import { inviteAcceptApp } from "./routes/invite_accept.ts";
import { apiKeysApp } from "./routes/api_keys.ts";
import { micro1InviteApp } from "./routes/micro1_invite.ts";
import { mcpApp } from "./routes/mcp.ts";
import { merchantBrandingApp } from "./routes/merchant_branding.ts";

/**
 * Every edge function by name. Each `supabase/functions/<name>/index.ts` serves
 * one of these; the local gateway mounts them all at `/functions/v1/<name>`.
 */
export const FUNCTIONS: Record<string, (runtime: Runtime) => Hono<AppEnv>> = {
  "job-interview-register-users": registerUsersApp,
  "interview-token-redeem": interviewTokenRedeemApp,
  "openapi": openapiApp,
  "email-dispatch": emailDispatchApp,
  "interview-complete": interviewCompleteApp,
  "invite-users": inviteUsersApp,
  "invite-accept": inviteAcceptApp,
  "api-keys": apiKeysApp,
  "interview": micro1InviteApp,
  "mcp": mcpApp,
  "merchant-branding": merchantBrandingApp,
};
