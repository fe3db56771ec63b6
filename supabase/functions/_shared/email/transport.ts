import nodemailer, { type SendMailOptions } from "nodemailer";
import type { EmailConfig } from "./config.ts";

/** Where the dispatcher hands finished messages: SMTP in every real use. */
export interface MailTransport {
  /** Resolves once the server has accepted the message (its final 250 to DATA). */
  send(message: SendMailOptions): Promise<void>;
  /** Closes pooled connections; sends after this fail. */
  close(): void;
}

/**
 * An SMTP client (nodemailer, pooled) for the configured server. The pool
 * keeps up to `concurrency` connections open and reuses them from message to
 * message; every network wait is bounded by `sendTimeoutMs`, and so is each
 * send as a whole, so a dispatcher always knows how long one can take. A send
 * that runs out of time is abandoned and its connection closed: the server
 * has the message only if it had already received all of it (docs/email.md).
 */
export function createSmtpTransport(config: EmailConfig): MailTransport {
  const transporter = nodemailer.createTransport({
    url: config.smtpUrl,
    pool: true,
    maxConnections: config.concurrency,
    connectionTimeout: config.sendTimeoutMs,
    greetingTimeout: config.sendTimeoutMs,
    socketTimeout: config.sendTimeoutMs,
    dnsTimeout: config.sendTimeoutMs,
  });
  return {
    async send(message) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      // A send that loses the race must also stop: left to run, a slow server would still get the
      // message after it was counted failed, and again on every retry. The abort drops it from the
      // pool's queue, or closes the connection delivering it.
      const abort = new AbortController();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // Rejected before the abort, whose EABORT rejects sendMail at once: the timeout is the reason.
          reject(new Error(`SMTP send timed out after ${config.sendTimeoutMs} ms`));
          abort.abort();
        }, config.sendTimeoutMs);
      });
      try {
        await Promise.race([transporter.sendMail({ ...message, signal: abort.signal }), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => transporter.close(),
  };
}

/**
 * Whether retrying can never help: every recipient was refused for good (an
 * address that does not exist). Anything else, refusals of the message or
 * the session included (relay denied, authentication, size), is retried up to
 * the cap, because an operator can fix those and retry.
 */
export function isPermanentFailure(err: unknown): boolean {
  const { code, permanent } = err as { code?: unknown; permanent?: unknown };
  return code === "EENVELOPE" && permanent === true;
}

/** A one-line reason for the outbox row: the server's reply when there is one, never the message. */
export function describeSendError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const { code, response } = err as { code?: unknown; response?: unknown };
  const parts = [typeof code === "string" ? code : null, err.message];
  if (typeof response === "string" && !err.message.includes(response)) parts.push(response);
  return parts.filter(Boolean).join(": ").replace(/\s+/g, " ");
}
