import { EMAIL_FAILURES_REQUIRES, emailFailuresApp } from "../_shared/routes/email_failures.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(emailFailuresApp, EMAIL_FAILURES_REQUIRES);
