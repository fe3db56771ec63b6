import { Hono } from "hono";
import type { Runtime } from "../runtime.ts";

export function registerUsersApp(_runtime: Runtime): Hono {
  return new Hono().basePath("/job-interview-register-users").post("/", (c) => c.json({ ok: true }));
}
