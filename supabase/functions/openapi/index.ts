import { openapiApp } from "../_shared/routes/openapi.ts";
import { createRuntime } from "../_shared/runtime.ts";

Deno.serve(openapiApp(createRuntime()).fetch);
