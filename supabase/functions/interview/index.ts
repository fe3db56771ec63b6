import { MICRO1_REQUIRES, micro1InviteApp } from "../_shared/routes/micro1_invite.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(micro1InviteApp, MICRO1_REQUIRES);
