import { INVITE_USERS_REQUIRES, inviteUsersApp } from "../_shared/routes/invite_users.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(inviteUsersApp, INVITE_USERS_REQUIRES);
