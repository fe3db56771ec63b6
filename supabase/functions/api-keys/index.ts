import { API_KEYS_REQUIRES, apiKeysApp } from "../_shared/routes/api_keys.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(apiKeysApp, API_KEYS_REQUIRES);
