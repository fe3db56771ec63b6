/**
 * Every kind of email in every language, rendered with sample data by the renderer the dispatcher uses,
 * for a translator or a merchant to look at in a browser. The mail catcher serves it (`deno task start`:
 * http://127.0.0.1:54324/preview), local only:
 *
 *   /preview                         the grid of languages and kinds
 *   /preview/<language>/<kind>       one message: subject, Content-Language, the HTML and the text part
 *
 * A merchant's branding is tried out with query parameters, validated as POST /merchant-branding
 * validates them: `?brand_color=%230f766e&logo_url=https://...&subject=...&intro=...` (subject and intro
 * apply to invitations).
 */
import { Hono } from "hono";
import { html, raw } from "hono/html";
import { InvitationText, MerchantBrandingRequest } from "../supabase/functions/_shared/email/branding.ts";
import { EMAIL_KINDS } from "../supabase/functions/_shared/email/kinds.ts";
import { type Branding, createTemplateRenderer } from "../supabase/functions/_shared/email/templates.ts";
import { MOJITO_LANGUAGE_CODES } from "../supabase/functions/_shared/schemas.ts";

/** What a message of `kind` is rendered with: what its payload and send-time data would hold. */
export function sampleView(kind: string, nowSeconds = Date.now() / 1000): Record<string, unknown> {
  const expires = Math.floor(nowSeconds) + 30 * 86400;
  const common = {
    merchant_name: "Acme Robotics",
    recipient_name: "Zoé Durand",
    recipient_email: "zoe.durand@example.com",
    sender_name: "Acme Talent",
    service_name: "JobMojito",
    message_from_recruiter: "We enjoyed your application.\nThe interview takes about 20 minutes.",
  };
  switch (kind) {
    case "invitation":
    case "reminder":
      return {
        ...common,
        interview_name: "Senior Backend Engineer",
        interview_url: "http://localhost:3000/interview/take/c0000000?interview_token=sample",
        link_expires_at: expires,
        ...(kind === "reminder" ? { reminder: 1 } : {}),
      };
    case "completion":
      return { ...common, interview_name: "Senior Backend Engineer" };
    case "role_invitation":
      return {
        ...common,
        inviter_name: "Ada Lovelace",
        role: "merchant",
        accept_url: "http://localhost:3000/invite/accept?invitation_token=sample",
        link_expires_at: expires,
      };
    case "webhook_endpoint_disabled":
      return {
        ...common,
        endpoint_url: "https://ats.example.com/hooks/jobmojito",
        failing_since: "2026-11-25 09:14 UTC",
        disabled_reason:
          "Disabled automatically: every delivery failed since 2026-11-25T09:14:03Z (last error: HTTP 503)",
      };
    default:
      return {
        ...common,
        inviter_name: "Ada Lovelace",
        role: "merchant",
        portal_url: "http://localhost:3000",
      };
  }
}

const STYLE = raw(`<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #1f2933; }
  table { border-collapse: collapse; }
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e4e7eb; }
  pre { white-space: pre-wrap; background: #f5f7fa; padding: 1rem; }
  iframe { width: 100%; height: 44rem; border: 1px solid #e4e7eb; }
  .error { color: #b91c1c; }
</style>`);

/** The branding the query asks for, or the first validation error. */
function brandingFrom(query: Record<string, string>): Branding | { error: string } {
  const { subject, intro, ...rest } = query;
  const brand = MerchantBrandingRequest.pick({ logo_url: true, brand_color: true }).safeParse(rest);
  const text = subject || intro ? InvitationText.safeParse({ subject, intro }) : null;
  const failed = !brand.success ? brand.error : text && !text.success ? text.error : null;
  if (failed) return { error: failed.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") };
  return {
    logo_url: brand.data?.logo_url,
    brand_color: brand.data?.brand_color,
    invitation_text: text?.data ?? null,
  };
}

export function emailPreviewApp(): Hono {
  const app = new Hono();
  const render = createTemplateRenderer();

  app.get("/", (c) => {
    const query = new URL(c.req.url).search;
    const rows = MOJITO_LANGUAGE_CODES.map((language) =>
      html`<tr><th>${language}</th>${
        EMAIL_KINDS.map((kind) => html`<td><a href="/preview/${language}/${kind}${query}">${kind}</a></td>`)
      }</tr>`
    );
    return c.html(html`
      <!doctype html>
      <html>
        <head><meta charset="utf-8"><title>Email preview</title>${STYLE}</head>
        <body>
          <h1>Emails, by language and kind</h1>
          <p>Sample data, rendered as the dispatcher renders them. Try a merchant's branding with
                <code>?brand_color=%230f766e&amp;logo_url=https://…&amp;subject=…&amp;intro=…</code>.
                <a href="/">Caught emails</a></p>
          <table>${rows}</table>
        </body>
      </html>
    `);
  });

  app.get("/:language/:kind", async (c) => {
    const { language, kind } = c.req.param();
    if (!(MOJITO_LANGUAGE_CODES as readonly string[]).includes(language)) {
      return c.text("No such language", 404);
    }
    if (!(EMAIL_KINDS as readonly string[]).includes(kind)) return c.text("No such kind", 404);
    const branding = brandingFrom(c.req.query());
    if ("error" in branding) return c.html(html`<p class="error">${branding.error}</p>`, 422);
    const email = await render(kind, language, sampleView(kind), branding);
    return c.html(html`
      <!doctype html>
      <html>
        <head><meta charset="utf-8"><title>${email.subject}</title>${STYLE}</head>
        <body>
          <p><a href="/preview${new URL(c.req.url).search}">All languages and kinds</a></p>
          <table>
            <tr>
              <th>Subject</th>
              <td>${email.subject}</td>
            </tr>
            <tr>
              <th>Content-Language</th>
              <td>${email.language}</td>
            </tr>
          </table>
          <h2>HTML</h2>
          <iframe sandbox srcdoc="${email.html}"></iframe>
          <h2>Text</h2>
          <pre>${email.text}</pre>
        </body>
      </html>
    `);
  });
  return app;
}
