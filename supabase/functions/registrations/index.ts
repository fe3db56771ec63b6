import { REGISTRATIONS_REQUIRES, registrationsApp } from "../_shared/routes/registrations.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(registrationsApp, REGISTRATIONS_REQUIRES);
