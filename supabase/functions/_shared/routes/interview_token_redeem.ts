import { Hono } from "hono";
import type { Runtime } from "../runtime.ts";

export function interviewTokenRedeemApp(_runtime: Runtime): Hono {
  return new Hono().basePath("/interview-token-redeem").post("/", (c) => c.json({ ok: true }));
}
