import { inviteUsersApp } from "../_shared/routes/invite_users.ts";
import { createRuntime } from "../_shared/runtime.ts";

Deno.serve(inviteUsersApp(createRuntime()).fetch);
