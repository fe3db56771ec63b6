import { MERCHANT_BRANDING_REQUIRES, merchantBrandingApp } from "../_shared/routes/merchant_branding.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(merchantBrandingApp, MERCHANT_BRANDING_REQUIRES);
