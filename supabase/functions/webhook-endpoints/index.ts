import { WEBHOOK_ENDPOINTS_REQUIRES, webhookEndpointsApp } from "../_shared/routes/webhook_endpoints.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(webhookEndpointsApp, WEBHOOK_ENDPOINTS_REQUIRES);
