/**
 * Email delivery settings. config.ts reads them from the environment (its
 * one schema has their rules and defaults), with defaults that work on a
 * developer's machine: with no SMTP_URL, mail goes to the local mail catcher
 * `deno task start` runs on 127.0.0.1:54325 (the port Supabase's local stack
 * gives its own mail testing server). Those defaults are local only: outside
 * local development a function that sends refuses to start without SMTP_URL
 * and EMAIL_FROM_ADDRESS.
 */

/** SMTP port of the local mail catcher. */
export const LOCAL_SMTP_PORT = 54325;
/** Web page of the local mail catcher (Supabase's local stack shows its emails on this port too). */
export const LOCAL_MAIL_CATCHER_PORT = 54324;

export interface EmailConfig {
  /** smtp:// (STARTTLS when the server offers it) or smtps:// URL, credentials included. */
  smtpUrl: string;
  /** Whether smtpUrl came from the environment rather than the local default. */
  smtpConfigured: boolean;
  /** The envelope and From address of every message; its domain also names Message-IDs. */
  fromAddress: string;
  /** From name when the merchant has none of its own. */
  fromName: string;
  /** Reply-To when the merchant has none of its own; null sends none. */
  replyTo: string | null;
  /** Seconds after an invitation goes out at which each reminder is due. */
  reminderScheduleSeconds: number[];
  /** Attempts per message before it is marked failed. */
  maxAttempts: number;
  /** Delay after the first failed attempt; it doubles with each further one. */
  retryBaseSeconds: number;
  /** Cap on that delay. */
  retryMaxSeconds: number;
  /** How long a claimed message belongs to its dispatcher before others may take it over. */
  leaseSeconds: number;
  /** Messages claimed per round trip. */
  batchSize: number;
  /** Messages one dispatcher sends at once (and SMTP connections it opens). */
  concurrency: number;
  /** Longest one SMTP send may take before it counts as failed. */
  sendTimeoutMs: number;
  /** How often the long-running worker looks for due messages when nothing wakes it. */
  pollIntervalMs: number;
  /** How long one invocation of the email-dispatch function keeps sending. */
  dispatchBudgetSeconds: number;
  /** How many messages one invocation sends at most (hosted edge functions have a CPU-time cap). */
  dispatchMaxMessages: number;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "90s", "15m", "48h", "2d" (a bare number is seconds) as seconds. */
export function parseDurationSeconds(text: string): number {
  const match = text.trim().match(/^(\d+(?:\.\d+)?)\s*([smhd]?)$/i);
  if (!match) throw new Error(`Not a duration: "${text}" (use e.g. 90s, 15m, 48h, 2d)`);
  return Number(match[1]) * UNIT_SECONDS[(match[2] || "s").toLowerCase()];
}

/** "48h,120h" as seconds; "" or "none" turns reminders off. */
export function parseReminderSchedule(text: string): number[] {
  const trimmed = text.trim();
  if (trimmed === "" || trimmed.toLowerCase() === "none") return [];
  return trimmed.split(",").map((part) => Math.round(parseDurationSeconds(part)));
}
