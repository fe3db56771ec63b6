import { INVITE_ACCEPT_REQUIRES, inviteAcceptApp } from "../_shared/routes/invite_accept.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(inviteAcceptApp, INVITE_ACCEPT_REQUIRES);
