/**
 * Webhook signing secrets in the Standard Webhooks format: `whsec_` and the base64 of 32 random bytes
 * (256 bits, the HMAC-SHA256 key), which every Standard Webhooks and Svix library takes as it is.
 */
import { Buffer } from "node:buffer";

export const WEBHOOK_SECRET_PREFIX = "whsec_";
export const WEBHOOK_SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]{43}=$/;

/** A new secret from the system's CSPRNG. */
export function mintWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
}
