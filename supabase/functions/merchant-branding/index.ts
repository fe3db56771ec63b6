import { merchantBrandingApp } from "../_shared/routes/merchant_branding.ts";
import { createRuntime } from "../_shared/runtime.ts";

Deno.serve(merchantBrandingApp(createRuntime()).fetch);
