import { jobInterviewTokenApp } from "../_shared/routes/job_interview_token.ts";
import { createRuntime } from "../_shared/runtime.ts";

Deno.serve(jobInterviewTokenApp(createRuntime()).fetch);
