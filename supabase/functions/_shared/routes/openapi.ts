import { Hono } from "hono";
import type { Runtime } from "../runtime.ts";

export function openapiApp(_runtime: Runtime): Hono {
  return new Hono().basePath("/openapi").post("/", (c) => c.json({ ok: true }));
}
