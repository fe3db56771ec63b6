/**
 * A local stand-in for the interview app, served by `deno task start` at INTERVIEW_BASE_URL
 * (http://localhost:3000 locally), so that the links in the emails the API sends can be clicked through:
 *
 *   /interview/take/<interview id>/?interview_token=…   the candidate's interview link: shows the interview and
 *                                                       the candidate; "Start" redeems the link, "Mark complete"
 *                                                       reports the interview completed
 *   /invitation/accept/?invitation_token=…              a team or coaching invitation: "Sign in and accept"
 *
 * Every change goes through the API's own endpoints over HTTP, the way the real app's backend calls them:
 * `interview-token-redeem` with the link's token, `interview-complete` with the service key, `invite-accept`
 * with the invited person's access token. The sign-in is local only: it mints an HS256 access token for the
 * account with that email (a new id when there is none), as Supabase Auth would after a magic link. The pages
 * read the database only to show who and what a link is for.
 */
import { Hono } from "hono";
import { html } from "hono/html";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Runtime } from "../supabase/functions/_shared/runtime.ts";
import { interviewTokenKey, verifyInterviewToken } from "../supabase/functions/_shared/interviews/token.ts";
import {
  invitationTokenKey,
  verifyInvitationToken,
} from "../supabase/functions/_shared/invitations/token.ts";
import { signUserToken } from "./user_token.ts";

export interface InterviewAppOptions {
  runtime: Runtime;
  /** The API, e.g. http://127.0.0.1:54321/functions/v1 */
  functionsUrl: string;
  /** A service key the API accepts (the local `sb_secret_` key): interview-complete needs one. */
  serviceKey: string;
  hostname?: string;
  /** 0 picks a free port. */
  port: number;
}

export interface InterviewApp {
  /** e.g. http://127.0.0.1:3000 */
  url: string;
  port: number;
  close(): Promise<void>;
}

const STYLE = html`<style>
  body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 40rem; color: #1f2933; }
  dt { color: #7b8794; } dd { margin: 0 0 .6rem; overflow-wrap: anywhere; }
  button { font-size: 1rem; padding: .5rem 1.2rem; }
  .error { color: #ab091e; } .muted { color: #7b8794; }
</style>`;

function page(title: string, body: unknown) {
  return html`
    <!doctype html>
    <html>
      <head><meta charset="utf-8"><title>${title}</title>${STYLE}</head>
      <body>
            <p class="muted">Local stand-in for the interview app (deno task start)</p>
            <h1>${title}</h1>
            ${body}
          </body>
    </html>
  `;
}

function details(rows: [string, unknown][]) {
  return html`<dl>${
    rows.map(([k, v]) =>
      html`
        <dt>${k}</dt>
        <dd data-field="${k}">${v ?? "—"}</dd>
      `
    )
  }</dl>`;
}

/** The API's answer: status and parsed body. */
async function call(
  url: string,
  token: string | null,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

function apiError(answer: { status: number; body: Record<string, unknown> }) {
  return html`<p class="error" id="error">The API answered ${answer.status}: ${
    String(answer.body.error)
  }</p>`;
}

function webApp(options: InterviewAppOptions): Hono {
  const { runtime, functionsUrl } = options;
  const { sql, config } = runtime;
  const interviewKey = interviewTokenKey(config.interviewTokenSecret);
  const invitationKey = invitationTokenKey(config.invitationTokenSecret);
  const app = new Hono();

  app.get("/", (c) =>
    c.html(page(
      "Interview app",
      html`<p>Interview links (<code>/interview/take/…</code>) and invitation links (<code
      >/invitation/accept/…</code>) from the local mail catcher open here.</p>`,
    )));

  app.get("/interview/take/:interviewId/", async (c) => {
    const token = c.req.query("interview_token") ?? "";
    const claims = await verifyInterviewToken(await interviewKey, token).catch(() => null);
    const [row] = claims
      ? await sql<{ interview: string; candidate: string | null; email: string; status: string }[]>`
        select i.name as interview, p.name as candidate, p.email, pi.status
        from profile_interviews pi
        join interviews i on i.id = pi.interview_id
        join candidate_profiles p on p.id = pi.profile_id
        where pi.id = ${claims.profile_interview_id}`
      : [];
    const body = row
      ? html`
        ${details([["Interview", row.interview], ["Candidate", row.candidate], ["Email", row.email], [
          "Status",
          row.status,
        ]])}
        <form method="post" action="/interview/start">
          <input type="hidden" name="interview_token" value="${token}">
          <button id="start">Start the interview</button>
        </form>
      `
      : html`<p class="error" id="error">This link is not valid.</p>`;
    return c.html(page("Your interview", body));
  });

  app.post("/interview/start", async (c) => {
    const form = await c.req.parseBody();
    const answer = await call(`${functionsUrl}/interview-token-redeem`, null, {
      interview_token: String(form.interview_token ?? ""),
    });
    if (answer.status !== 200) {
      return c.html(page("Your interview", apiError(answer)), answer.status as ContentfulStatusCode);
    }
    const r = answer.body;
    return c.html(page(
      "Interview started",
      html`
        ${details([["Interview", r.interview_name], ["Candidate", r.name], ["Email", r.email], [
          "Status",
          r.status,
        ]])}
        <form method="post" action="/interview/complete">
          <input type="hidden" name="profile_interview_id" value="${String(r.profile_interview_id)}">
          <button id="complete">Mark the interview complete</button>
        </form>
      `,
    ));
  });

  app.post("/interview/complete", async (c) => {
    const form = await c.req.parseBody();
    const answer = await call(`${functionsUrl}/interview-complete`, options.serviceKey, {
      profile_interview_id: String(form.profile_interview_id ?? ""),
    });
    if (answer.status !== 200) {
      return c.html(page("Interview", apiError(answer)), answer.status as ContentfulStatusCode);
    }
    const r = answer.body;
    return c.html(page(
      "Interview completed",
      details([["Status", r.status], ["Completed at", r.completed_at], [
        "Completion email queued",
        String(r.notification_queued),
      ]]),
    ));
  });

  app.get("/invitation/accept/", async (c) => {
    const token = c.req.query("invitation_token") ?? "";
    const claims = await verifyInvitationToken(invitationKey, token).catch(() => null);
    const [row] = claims
      ? await sql<{ merchant: string; email: string; name: string | null; role: string }[]>`
        select m.name as merchant, i.email, i.name, i.role::text as role
        from merchant_invitations i join merchants m on m.id = i.merchant_id
        where i.id = ${claims.sub}`
      : [];
    const body = row
      ? html`
        ${details([["Merchant", row.merchant], ["Role", row.role], ["Invited", row.name ?? row.email]])}
        <form method="post" action="/invitation/accept">
          <input type="hidden" name="invitation_token" value="${token}">
          <label>Sign in as <input name="email" type="email" value="${row.email}" required></label>
          <button id="accept">Sign in and accept</button>
        </form>
      `
      : html`<p class="error" id="error">This link is not valid.</p>`;
    return c.html(page("Invitation", body));
  });

  app.post("/invitation/accept", async (c) => {
    const form = await c.req.parseBody();
    const email = String(form.email ?? "").trim();
    if (!config.jwtSecret) {
      return c.html(
        page("Invitation", html`<p class="error" id="error">Local sign-in needs JWT_SECRET.</p>`),
      );
    }
    const [account] = await sql<
      { id: string }[]
    >`select id from accounts where lower(email) = lower(${email})`;
    const accessToken = await signUserToken(config.jwtSecret, account?.id ?? crypto.randomUUID(), {
      claims: { email },
    });
    const answer = await call(`${functionsUrl}/invite-accept`, accessToken, {
      invitation_token: String(form.invitation_token ?? ""),
    });
    if (answer.status !== 200) {
      return c.html(page("Invitation", apiError(answer)), answer.status as ContentfulStatusCode);
    }
    const r = answer.body;
    return c.html(page(
      "Invitation accepted",
      details([["Merchant", r.merchant_name], ["Role", r.role], ["Status", r.status]]),
    ));
  });
  return app;
}

export function serveInterviewApp(options: InterviewAppOptions): InterviewApp {
  const hostname = options.hostname ?? "127.0.0.1";
  const server = Deno.serve({ hostname, port: options.port, onListen: () => {} }, webApp(options).fetch);
  const { port } = server.addr as Deno.NetAddr;
  const urlHost = hostname.includes(":") ? `[${hostname}]` : hostname;
  return { url: `http://${urlHost}:${port}`, port, close: () => server.shutdown() };
}
