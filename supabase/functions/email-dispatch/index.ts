import { EMAIL_DISPATCH_REQUIRES, emailDispatchApp } from "../_shared/routes/email_dispatch.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(emailDispatchApp, EMAIL_DISPATCH_REQUIRES);
