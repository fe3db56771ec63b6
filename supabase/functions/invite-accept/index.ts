import { inviteAcceptApp } from "../_shared/routes/invite_accept.ts";
import { createRuntime } from "../_shared/runtime.ts";

Deno.serve(inviteAcceptApp(createRuntime()).fetch);
