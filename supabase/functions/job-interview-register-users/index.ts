import { registerUsersApp } from "../_shared/routes/register_users.ts";
import { createRuntime } from "../_shared/runtime.ts";

Deno.serve(registerUsersApp(createRuntime()).fetch);
