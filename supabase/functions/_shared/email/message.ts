import type { SendMailOptions } from "nodemailer";
import type { Config } from "../config.ts";
import type { InterviewTokenKey } from "../interviews/token.ts";
import { SEND_TIME_DATA } from "./kinds.ts";
import type { OutgoingEmail } from "./outbox.ts";
import type { TemplateRenderer } from "./templates.ts";

/**
 * The Message-ID of an outbox row: the same on every attempt, so a message
 * sent twice (a dispatcher that died between the server's acceptance and
 * recording it) is recognisable as one message downstream.
 */
export function outboxMessageId(outboxId: string, fromAddress: string): string {
  return `<${outboxId}@${fromAddress.slice(fromAddress.lastIndexOf("@") + 1)}>`;
}

export interface ComposeDeps {
  config: Config;
  interviewTokenKey: InterviewTokenKey;
  render: TemplateRenderer;
}

/**
 * Renders a claimed message into what the SMTP client sends, in the sender
 * identity of its merchant: the merchant's from-name and reply-to, or the
 * deployment's, always from the deployment's address (the one its SPF and
 * DKIM cover).
 */
export async function composeEmail(email: OutgoingEmail, deps: ComposeDeps): Promise<SendMailOptions> {
  const { email: settings } = deps.config;
  const senderName = email.merchant.email_from_name ?? settings.fromName;
  const view: Record<string, unknown> = {
    merchant_name: email.merchant.name,
    ...email.payload,
    ...SEND_TIME_DATA[email.kind]?.(email, deps),
    recipient_name: email.to_name,
    recipient_email: email.to_email,
    sender_name: senderName,
    // The deployment's name, in the legal footer: the message is ours, sent for the merchant.
    service_name: settings.fromName,
  };
  const rendered = await deps.render(email.kind, email.language, view, email.merchant.branding);
  const replyTo = email.merchant.email_reply_to ?? settings.replyTo;
  return {
    from: { name: senderName, address: settings.fromAddress },
    to: email.to_name ? { name: email.to_name, address: email.to_email } : email.to_email,
    ...(replyTo ? { replyTo } : {}),
    subject: rendered.subject,
    text: rendered.text,
    html: rendered.html,
    messageId: outboxMessageId(email.id, settings.fromAddress),
    // RFC 3834: sent by software, so autoresponders should not answer it. Content-Language (RFC 3282)
    // says which language the message is in: its BCP 47 tag (pt-BR for `br`), English when it had none.
    headers: { "Auto-Submitted": "auto-generated", "Content-Language": rendered.language },
  };
}
