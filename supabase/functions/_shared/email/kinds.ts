import type { Config } from "../config.ts";
import { buildInterviewUrl, type InterviewTokenKey, mintInterviewToken } from "../interviews/token.ts";
import { buildAcceptUrl, invitationTokenKey, mintInvitationToken } from "../invitations/token.ts";
import type { ClaimedEmail, OutgoingEmail } from "./outbox.ts";

/** Every kind of email (the `email_kind` enum): each has `templates/<kind>.html` and `.txt`, and strings. */
export const EMAIL_KINDS = [
  "invitation",
  "reminder",
  "completion",
  "role_invitation",
  "role_granted",
  "webhook_endpoint_disabled",
] as const;
export type EmailKind = (typeof EMAIL_KINDS)[number];

/**
 * Kinds whose strings are English in every language file until they are translated (marked so here; the
 * i18n test holds every other kind to a translation). webhook_endpoint_disabled goes to a merchant's
 * owners, in English, when one of its webhook endpoints is disabled (docs/webhooks.md).
 */
export const ENGLISH_ONLY_KINDS: readonly EmailKind[] = ["webhook_endpoint_disabled"];

/**
 * Template data a kind computes at send time, on top of its payload: what must
 * not be stored (a link's token is minted again from its claims) or must be
 * current when the message goes out. A kind not listed here renders from its
 * payload alone; adding a kind is described in docs/email.md.
 */
export type SendTimeData = (email: OutgoingEmail, context: SendTimeContext) => Record<string, unknown>;

export interface SendTimeContext {
  config: Config;
  interviewTokenKey: InterviewTokenKey;
}

/**
 * The registration's current one-time link, the very one the API returned:
 * the claims come from the live interview token the send-time check found
 * (never from a stored token), and HS256 over the same claims gives the same
 * token.
 */
const interviewLink: SendTimeData = (email, { config, interviewTokenKey }) => {
  const { link } = email;
  if (!link) throw new Error(`Email ${email.id} (${email.kind}) was cleared without a live interview link`);
  return {
    interview_url: buildInterviewUrl(
      email.merchant.interview_base_url ?? config.interviewBaseUrl,
      link.interview_id,
      mintInterviewToken(interviewTokenKey, link),
      { hideMenu: link.hide_menu, hideIframe: link.hide_iframe },
    ),
    link_expires_at: link.exp,
  };
};

/** Where a merchant's people sign in: its own domain, or the deployment's. */
function portalUrl(email: ClaimedEmail, config: Config): string {
  return (email.merchant.interview_base_url ?? config.interviewBaseUrl).replace(/\/$/, "");
}

/**
 * A role invitation's one-time accept link, minted from the claims the row
 * was queued with (app.invite_members): the token itself is never stored.
 */
const acceptLink: SendTimeData = (email, { config }) => {
  const { invitation_id, jti, iat, exp } = email.payload;
  if (
    typeof invitation_id !== "string" || typeof jti !== "string" || typeof iat !== "number" ||
    typeof exp !== "number"
  ) {
    throw new Error(`Email ${email.id} (${email.kind}) has no accept link claims`);
  }
  const token = mintInvitationToken(invitationTokenKey(config.invitationTokenSecret), {
    jti,
    sub: invitation_id,
    iat,
    exp,
  });
  return {
    accept_url: buildAcceptUrl(portalUrl(email, config), token),
    link_expires_at: exp,
  };
};

export const SEND_TIME_DATA: Record<string, SendTimeData> = {
  invitation: interviewLink,
  reminder: interviewLink,
  role_invitation: acceptLink,
  // A role given at once (Activated, SubMerchantAdded, CoachingAccessAdded): the notice links to the portal.
  role_granted: (email, { config }) => ({ portal_url: portalUrl(email, config) }),
};
