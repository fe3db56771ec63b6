/**
 * The shapes of POST /merchant-branding: a merchant's logo, brand colour and invitation texts per
 * language. The handler validates with them and `openapi.ts` describes the endpoint from them.
 */
import { z } from "zod";
import { MOJITO_LANGUAGE_CODES, storable, UNSTORABLE, uuid } from "../schemas.ts";
import { OVERRIDE_PLACEHOLDERS } from "./templates.ts";

export const SUBJECT_MAX = 200;
export const INTRO_MAX = 2000;
export const LOGO_URL_MAX = 2048;

const PLACEHOLDER_LIST = OVERRIDE_PLACEHOLDERS.map((name) => `{${name}}`).join(", ");

/** Only the placeholders the renderer fills in: a typo would otherwise reach candidates as "{nmae}". */
function knownPlaceholders(value: string): boolean {
  return [...value.matchAll(/\{([^{}]*)\}/g)].every((m) =>
    (OVERRIDE_PLACEHOLDERS as readonly string[]).includes(m[1])
  );
}

function merchantText(max: number, singleLine: boolean) {
  // A subject is one header line; a paragraph may break lines but carries no other control character.
  return z.string({ error: "Must be a string" })
    .trim()
    .min(1, "Must not be empty")
    .max(max, `At most ${max} characters`)
    .refine(storable, `Contains ${UNSTORABLE}`)
    .refine(
      (value) => !/\p{Cc}/u.test(singleLine ? value : value.replace(/\r?\n/g, "")),
      singleLine ? "Must be one line, without control characters" : "Contains a control character",
    )
    .refine(knownPlaceholders, `The only placeholders are ${PLACEHOLDER_LIST}`)
    .nullish();
}

export const InvitationText = z.strictObject({
  subject: merchantText(SUBJECT_MAX, true).meta({
    description: `The invitation's subject, instead of ours. Plain text; may name ${PLACEHOLDER_LIST}.`,
    example: "{merchant_name}: your video interview for {interview_name}",
  }),
  intro: merchantText(INTRO_MAX, false).meta({
    description: "The invitation's opening paragraph, instead of ours (after the greeting, before the " +
      `recruiter's message and the link). Plain text, line breaks kept; may name ${PLACEHOLDER_LIST}.`,
    example: "We loved your application! The next step is a short video interview, {interview_name}.",
  }),
}, {
  error: (issue) =>
    issue.code === "unrecognized_keys"
      ? `Unknown field ${
        issue.keys.map((key) => JSON.stringify(key)).join(", ")
      }: a merchant sets "subject" ` +
        'and "intro"'
      : 'Must be an object with "subject" and/or "intro"',
})
  .refine(
    (text) => Boolean(text.subject || text.intro),
    'Give "subject", "intro" or both (null removes the language)',
  );

export const MerchantBrandingRequest = z.strictObject({
  merchant_id: uuid(
    "Merchant id. Required with the service key; with a user token, a merchant the user owns (or a " +
      "sub-merchant of one), or any merchant for platform admins.",
  ).nullish(),
  logo_url: z.string({ error: "Must be a string" })
    .max(LOGO_URL_MAX, `At most ${LOGO_URL_MAX} characters`)
    .regex(/^https:\/\/[^\s"'<>\\]+$/, "Must be an https:// URL")
    .refine((value) => URL.canParse(value), "Must be an https:// URL")
    .nullish()
    .meta({
      description:
        "The logo at the top of every email, an https:// image URL (about 200 x 48 px shows best). " +
        "null removes it; left out, it stays as it is.",
      example: "https://acme.example/logo.png",
    }),
  brand_color: z.string({ error: "Must be a string" })
    .regex(/^#[0-9a-fA-F]{6}$/, 'Must be a colour as "#rrggbb"')
    .nullish()
    .meta({
      description:
        "The colour of the top bar and the buttons. null restores the default; left out, it stays.",
      example: "#0f766e",
    }),
  invitation: z.partialRecord(z.enum(MOJITO_LANGUAGE_CODES), InvitationText.nullable(), {
    // A key outside the enum is reported as an unrecognized key, which zod's issue types leave out here.
    error: (issue) => {
      const { code, keys } = issue as { code: string; keys?: string[] };
      return code === "unrecognized_keys"
        ? `Unknown language ${keys!.map((key) => JSON.stringify(key)).join(", ")}; languages are: ${
          MOJITO_LANGUAGE_CODES.join(", ")
        }`
        : "Must be an object of languages";
    },
  }).optional().meta({
    description: "The invitation's subject and opening paragraph by mojito_language_code. A language given " +
      "replaces its texts, null removes them, one left out stays as it is. Everything else in the email (the " +
      "greeting, the link and its expiry, the footer) is ours, in the message's language.",
    example: { en: { subject: "{merchant_name}: your video interview" }, fr: null },
  }),
});

export const MerchantBranding = z.object({
  merchant_id: z.guid(),
  logo_url: z.string().nullable(),
  brand_color: z.string().nullable().meta({ description: "As stored: lower case." }),
  invitation: z.record(
    z.string(),
    z.object({ subject: z.string().optional(), intro: z.string().optional() }),
  ),
});
