import { REGISTER_USERS_REQUIRES, registerUsersApp } from "../_shared/routes/register_users.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(registerUsersApp, REGISTER_USERS_REQUIRES);
