import { JOB_INTERVIEW_TOKEN_REQUIRES, jobInterviewTokenApp } from "../_shared/routes/job_interview_token.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(jobInterviewTokenApp, JOB_INTERVIEW_TOKEN_REQUIRES);
