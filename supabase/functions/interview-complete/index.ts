import { interviewCompleteApp } from "../_shared/routes/interview_complete.ts";
import { createRuntime } from "../_shared/runtime.ts";

Deno.serve(interviewCompleteApp(createRuntime()).fetch);
