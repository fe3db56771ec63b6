import { micro1InviteApp } from "../_shared/routes/micro1_invite.ts";
import { createRuntime } from "../_shared/runtime.ts";

Deno.serve(micro1InviteApp(createRuntime()).fetch);
