import { apiKeysApp } from "../_shared/routes/api_keys.ts";
import { createRuntime } from "../_shared/runtime.ts";

Deno.serve(apiKeysApp(createRuntime()).fetch);
