import type { Hono } from "hono";
import type { AppEnv } from "./app.ts";
import type { Requirement } from "./config.ts";
import type { Runtime } from "./runtime.ts";
import { REGISTER_USERS_REQUIRES, registerUsersApp } from "./routes/register_users.ts";
import { INTERVIEW_TOKEN_REDEEM_REQUIRES, interviewTokenRedeemApp } from "./routes/interview_token_redeem.ts";
import { EMAIL_DISPATCH_REQUIRES, emailDispatchApp } from "./routes/email_dispatch.ts";
import { INTERVIEW_COMPLETE_REQUIRES, interviewCompleteApp } from "./routes/interview_complete.ts";
import { INVITE_USERS_REQUIRES, inviteUsersApp } from "./routes/invite_users.ts";
import { INVITE_ACCEPT_REQUIRES, inviteAcceptApp } from "./routes/invite_accept.ts";
import { HEALTH_REQUIRES, healthApp } from "./routes/health.ts";
import { EMAIL_FAILURES_REQUIRES, emailFailuresApp } from "./routes/email_failures.ts";
import { API_KEYS_REQUIRES, apiKeysApp } from "./routes/api_keys.ts";
import { MICRO1_REQUIRES, micro1InviteApp } from "./routes/micro1_invite.ts";
import { MERCHANT_BRANDING_REQUIRES, merchantBrandingApp } from "./routes/merchant_branding.ts";
import { REGISTRATIONS_REQUIRES, registrationsApp } from "./routes/registrations.ts";
import { JOB_INTERVIEW_TOKEN_REQUIRES, jobInterviewTokenApp } from "./routes/job_interview_token.ts";
import { WEBHOOK_ENDPOINTS_REQUIRES, webhookEndpointsApp } from "./routes/webhook_endpoints.ts";
import { WEBHOOK_DISPATCH_REQUIRES, webhookDispatchApp } from "./routes/webhook_dispatch.ts";

export interface FunctionDefinition {
  app: (runtime: Runtime) => Hono<AppEnv>;
  /** The settings it cannot start without (its index.ts passes the same to serveFunction). */
  requires: readonly Requirement[];
}

/**
 * Every edge function the OpenAPI document describes, by name: all but `openapi` itself, which
 * reads their routes from here (functions.ts adds it).
 */
export const API_FUNCTIONS: Record<string, FunctionDefinition> = {
  "job-interview-register-users": { app: registerUsersApp, requires: REGISTER_USERS_REQUIRES },
  "interview-token-redeem": { app: interviewTokenRedeemApp, requires: INTERVIEW_TOKEN_REDEEM_REQUIRES },
  "email-dispatch": { app: emailDispatchApp, requires: EMAIL_DISPATCH_REQUIRES },
  "interview-complete": { app: interviewCompleteApp, requires: INTERVIEW_COMPLETE_REQUIRES },
  "invite-users": { app: inviteUsersApp, requires: INVITE_USERS_REQUIRES },
  "invite-accept": { app: inviteAcceptApp, requires: INVITE_ACCEPT_REQUIRES },
  "api-keys": { app: apiKeysApp, requires: API_KEYS_REQUIRES },
  "interview": { app: micro1InviteApp, requires: MICRO1_REQUIRES },
  "merchant-branding": { app: merchantBrandingApp, requires: MERCHANT_BRANDING_REQUIRES },
  "registrations": { app: registrationsApp, requires: REGISTRATIONS_REQUIRES },
  "job-interview-token": { app: jobInterviewTokenApp, requires: JOB_INTERVIEW_TOKEN_REQUIRES },
  "webhook-endpoints": { app: webhookEndpointsApp, requires: WEBHOOK_ENDPOINTS_REQUIRES },
  "health": { app: healthApp, requires: HEALTH_REQUIRES },
  "email-failures": { app: emailFailuresApp, requires: EMAIL_FAILURES_REQUIRES },
  "webhook-dispatch": { app: webhookDispatchApp, requires: WEBHOOK_DISPATCH_REQUIRES },
};
