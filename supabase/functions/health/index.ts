import { HEALTH_REQUIRES, healthApp } from "../_shared/routes/health.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(healthApp, HEALTH_REQUIRES);
