import { WEBHOOK_DISPATCH_REQUIRES, webhookDispatchApp } from "../_shared/routes/webhook_dispatch.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(webhookDispatchApp, WEBHOOK_DISPATCH_REQUIRES);
