/**
 * The whole local chain clicked through in a real browser (Debian's chromium, driven by playwright-core):
 * the email in the mail catcher's page, its interview link opening the interview app stand-in
 * (scripts/interview_app.ts), "Start" redeeming the link and "Mark complete" completing the registration through
 * the API; then a team invitation's accept link, signed in and accepted.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { freePort } from "../scripts/local_db.ts";
import { startMailCatcher } from "../scripts/mail_catcher.ts";
import { serveInterviewApp } from "../scripts/interview_app.ts";
import { userToken } from "./_support/credentials.ts";
import { dispatcherFor, messagesTo, testEmailConfig, uniqueEmail } from "./_support/email.ts";
import { createMerchant } from "./_support/fixtures.ts";
import { callFunction } from "./_support/http.ts";
import { startTestServer } from "./_support/server.ts";
import { sharedAcrossTests } from "./_support/suite.ts";
import { launchChromium } from "./_support/browser.ts";

// The browser's pipes and the servers' sockets outlive the test body by a moment.
sharedAcrossTests();

/** What the stand-in shows for one of its labelled fields. */
const field = (page: Page, name: string) => page.locator(`dd[data-field="${name}"]`).textContent();

Deno.test(
  "the interview and invitation links of local emails can be clicked through in a browser",
  async () => {
    const catcher = await startMailCatcher({ httpPort: 0 });
    const appPort = freePort();
    const server = await startTestServer({
      interviewBaseUrl: `http://localhost:${appPort}`,
      email: testEmailConfig(catcher.smtpUrl),
    });
    const { sql } = server.runtime;
    const app = serveInterviewApp({
      runtime: server.runtime,
      functionsUrl: server.functionsUrl,
      serviceKey: LOCAL_SECRET_KEY,
      port: appPort,
    });
    const dispatch = async () => {
      const dispatcher = dispatcherFor(server.runtime, sql);
      try {
        await dispatcher.dispatch();
      } finally {
        dispatcher.close();
      }
    };
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 800, height: 900 } });
      const fixture = await createMerchant(sql);
      const email = uniqueEmail("browser");
      const registered = await callFunction(server.functionsUrl, "job-interview-register-users", {
        token: LOCAL_SECRET_KEY,
        body: {
          merchant_id: fixture.merchantId,
          interview_id: fixture.interviewId,
          type: "invitation",
          users: [{ name: "Peter Parker", email }],
        },
      });
      assert.equal(registered.body[0].result, "ok");
      const { interview_url: interviewUrl, profile_interview_id: registrationId } = registered.body[0];
      assert.ok(interviewUrl.startsWith(`http://localhost:${appPort}/interview/take/`));
      await dispatch();

      // The email, read in the mail catcher's page: its long link wraps instead of widening the page.
      const [message] = messagesTo(catcher.messages(), email);
      await page.goto(`${catcher.webUrl}/messages/${message.id}`);
      const text = page.locator("pre");
      assert.ok((await text.textContent())!.includes(interviewUrl));
      const widths = await text.evaluate((pre) => ({ scroll: pre.scrollWidth, client: pre.clientWidth }));
      assert.ok(widths.scroll <= widths.client, `the text view overflows: ${JSON.stringify(widths)}`);
      assert.ok(
        await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"),
        "the page overflows",
      );

      // The link opens the interview app: who and what it is for, before anything is spent.
      await page.goto(interviewUrl);
      assert.equal(await field(page, "Interview"), "Fixture interview");
      assert.equal(await field(page, "Candidate"), "Peter Parker");
      assert.equal(await field(page, "Email"), email);
      assert.equal(await field(page, "Status"), "registered");

      await page.click("#start");
      assert.equal(await page.locator("h1").textContent(), "Interview started");
      assert.equal(await field(page, "Status"), "started");
      const [started] = await sql`select pi.status::text, t.redeemed_at is not null as redeemed
      from profile_interviews pi join interview_tokens t on t.profile_interview_id = pi.id
      where pi.id = ${registrationId}`;
      assert.deepEqual({ ...started }, { status: "started", redeemed: true });

      await page.click("#complete");
      assert.equal(await page.locator("h1").textContent(), "Interview completed");
      assert.equal(await field(page, "Completion email queued"), "true");
      const [completed] = await sql`select status::text from profile_interviews where id = ${registrationId}`;
      assert.equal(completed.status, "completed");

      // The same link again: the API's answer, shown as it is.
      await page.goto(interviewUrl);
      await page.click("#start");
      assert.match((await page.locator("#error").textContent())!, /answered 410/);

      // A team invitation: its accept link, signed in as the invited address, accepted.
      const invitee = uniqueEmail("teammate");
      const invited = await callFunction(server.functionsUrl, "invite-users", {
        token: await userToken(fixture.ownerId),
        body: { users: [{ email: invitee, name: "Ivy Invitee", type: "merchant" }] },
      });
      assert.equal(invited.body[0].result, "Invited");
      await dispatch();
      const acceptUrl = messagesTo(catcher.messages(), invitee)[0].parsed.text!.match(
        /http:\/\/localhost:\d+\/invitation\/accept\/\?invitation_token=\S+/,
      )![0];
      await page.goto(acceptUrl);
      assert.equal(await field(page, "Merchant"), `Fixture ${fixture.merchantId.slice(0, 8)}`);
      assert.equal(await field(page, "Role"), "merchant");
      assert.equal(await page.inputValue("input[name=email]"), invitee);
      await page.click("#accept");
      assert.equal(await page.locator("h1").textContent(), "Invitation accepted");
      const members =
        await sql`select m.role::text from merchant_members m join accounts a on a.id = m.account_id
      where m.merchant_id = ${fixture.merchantId} and a.email = ${invitee}`;
      assert.deepEqual(members.map((m) => m.role), ["merchant"]);
    } finally {
      await browser.close();
      await app.close();
      await server.close();
      await catcher.close();
    }
  },
);
