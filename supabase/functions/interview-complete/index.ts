import { INTERVIEW_COMPLETE_REQUIRES, interviewCompleteApp } from "../_shared/routes/interview_complete.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(interviewCompleteApp, INTERVIEW_COMPLETE_REQUIRES);
