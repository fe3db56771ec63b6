import { emailDispatchApp } from "../_shared/routes/email_dispatch.ts";
import { createRuntime } from "../_shared/runtime.ts";

Deno.serve(emailDispatchApp(createRuntime()).fetch);
