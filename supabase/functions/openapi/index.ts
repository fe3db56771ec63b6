import { OPENAPI_REQUIRES, openapiApp } from "../_shared/routes/openapi.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(openapiApp, OPENAPI_REQUIRES);
