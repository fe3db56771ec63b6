import { interviewTokenRedeemApp } from "../_shared/routes/interview_token_redeem.ts";
import { createRuntime } from "../_shared/runtime.ts";

Deno.serve(interviewTokenRedeemApp(createRuntime()).fetch);
