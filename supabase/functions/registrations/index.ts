import { registrationsApp } from "../_shared/routes/registrations.ts";
import { createRuntime } from "../_shared/runtime.ts";

Deno.serve(registrationsApp(createRuntime()).fetch);
