import assert from "node:assert/strict";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import {
  createTemplateRenderer,
  MissingTemplateError,
} from "../supabase/functions/_shared/email/templates.ts";
import { createRegistrar } from "../supabase/functions/_shared/interviews/registration.ts";
import { userToken } from "./_support/credentials.ts";
import { header, linkInHtml, linkInText, messagesTo, uniqueEmail } from "./_support/email.ts";
import { createMerchant } from "./_support/fixtures.ts";
import { callFunction, tokenOf } from "./_support/http.ts";
import { startTestServer } from "./_support/server.ts";
import { captureLogs } from "./_support/logs.ts";
import { fileEmailEnv } from "./_support/suite.ts";

const env = await fileEmailEnv({ replyTo: null });
const { sql, server, catcher } = env;

async function register(merchantId: string, interviewId: string, body: Record<string, unknown>) {
  const reply = await callFunction(server.functionsUrl, "job-interview-register-users", {
    token: LOCAL_SECRET_KEY,
    body: { merchant_id: merchantId, interview_id: interviewId, ...body },
  });
  assert.deepEqual(reply.status, 200, JSON.stringify(reply.body));
  return reply.body as { result: string; interview_url: string; profile_interview_id: string }[];
}

async function dispatchOverHttp() {
  const reply = await callFunction(server.functionsUrl, "email-dispatch", { token: LOCAL_SECRET_KEY });
  assert.deepEqual(reply.status, 200, JSON.stringify(reply.body));
  return reply.body as Record<string, number>;
}

Deno.test(
  "type invitation: the email arrives once, with the API's working link, the merchant's sender identity and escaped content",
  async () => {
    const fixture = await createMerchant(sql);
    await sql`update merchants set name = ${'Acme <b>"Bold"</b> & Co'}, email_from_name = 'Acme Talent',
    email_reply_to = 'talent@acme.example' where id = ${fixture.merchantId}`;
    await sql`update interviews set name = ${"Backend <script>alert(1)</script>"} where id = ${fixture.interviewId}`;
    const address = uniqueEmail("peter");
    const [row] = await register(fixture.merchantId, fixture.interviewId, {
      type: "invitation",
      users: [{ name: "Peter <img src=x onerror=alert(1)>", email: address }],
    });
    assert.deepEqual(row.result, "ok");

    const summary = await dispatchOverHttp();
    assert(summary.sent >= 1, JSON.stringify(summary));
    await dispatchOverHttp();
    const received = messagesTo(catcher.messages(), address);
    assert.deepEqual(received.length, 1, "delivered once, however often the dispatcher runs");
    const [message] = received;

    const [outbox] = await sql`select id, status, attempts, sent_at from email_outbox
    where profile_interview_id = ${row.profile_interview_id} and kind = 'invitation'`;
    assert.deepEqual(outbox.status, "sent");
    assert.deepEqual(outbox.attempts, 1);
    assert(outbox.sent_at instanceof Date);

    // Headers.
    assert.deepEqual(message.parsed.from, { address: "no-reply@jobs.example", name: "Acme Talent" });
    assert.deepEqual(message.envelope.from, "no-reply@jobs.example");
    assert.deepEqual(message.parsed.replyTo, [{ address: "talent@acme.example", name: "" }]);
    assert.deepEqual(message.parsed.to, [{ address, name: "Peter <img src=x onerror=alert(1)>" }]);
    assert.deepEqual(message.parsed.messageId, `<${outbox.id}@jobs.example>`);
    assert.deepEqual(header(message, "auto-submitted"), "auto-generated");
    assert.deepEqual(
      message.parsed.subject,
      'Acme <b>"Bold"</b> & Co invites you to an interview: Backend <script>alert(1)</script>',
      "the subject is plain text: shown as typed",
    );

    // The link is the one the API returned, in both parts, and it works.
    assert.deepEqual(linkInText(message), row.interview_url);
    assert.deepEqual(linkInHtml(message), row.interview_url);
    const redeemed = await callFunction(server.functionsUrl, "interview-token-redeem", {
      body: { interview_token: tokenOf(linkInText(message)) },
    });
    assert.deepEqual(redeemed.status, 200, JSON.stringify(redeemed.body));
    assert.deepEqual(redeemed.body.profile_interview_id, row.profile_interview_id);

    // Escaping: no markup from user data survives in the HTML part; the text part shows it verbatim.
    const html = message.parsed.html!;
    assert(!html.includes("<script>alert(1)</script>"), "interview name is escaped");
    assert(!html.includes("<img src=x"), "candidate name is escaped");
    assert(!html.includes("<b>&quot;Bold"), "merchant name is escaped");
    assert(html.includes("Backend &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert(html.includes("Peter &lt;img src=x onerror=alert(1)&gt;"));
    assert(html.includes("Acme &lt;b&gt;&quot;Bold&quot;&lt;/b&gt; &amp; Co"));
    assert(message.parsed.text!.includes('Acme <b>"Bold"</b> & Co invites you to take the interview'));
    assert(message.parsed.text!.includes("Hi Peter <img src=x onerror=alert(1)>,"));
  },
);

Deno.test("type url sends nothing and queues nothing", async () => {
  const fixture = await createMerchant(sql);
  const address = uniqueEmail("url");
  const [row] = await register(fixture.merchantId, fixture.interviewId, {
    type: "url",
    users: [{ email: address }],
  });
  assert.deepEqual(row.result, "ok");
  await dispatchOverHttp();
  assert.deepEqual(messagesTo(catcher.messages(), address).length, 0);
  const [{ count }] =
    await sql`select count(*)::int from email_outbox where merchant_id = ${fixture.merchantId}`;
  assert.deepEqual(count, 0);
});

Deno.test(
  "without a sender identity of its own, the merchant's emails use the deployment defaults",
  async () => {
    const fixture = await createMerchant(sql);
    const address = uniqueEmail("defaults");
    await register(fixture.merchantId, fixture.interviewId, {
      send_email: true,
      users: [{ email: address }],
    });
    await dispatchOverHttp();
    const [message] = messagesTo(catcher.messages(), address);
    assert.deepEqual(message.parsed.from, { address: "no-reply@jobs.example", name: "Deployment Default" });
    assert.deepEqual(
      message.parsed.replyTo,
      undefined,
      "no Reply-To when neither the merchant nor the deployment has one",
    );
    assert.deepEqual(message.parsed.to, [{ address, name: "" }]);
    assert(
      message.parsed.text!.startsWith("Hello,\n"),
      "a candidate without a name is greeted all the same",
    );
  },
);

Deno.test(
  "the emailed link keeps the merchant's interview domain and the hide_menu / hide_iframe flags",
  async () => {
    const fixture = await createMerchant(sql, { baseUrl: "https://interviews.acme.example" });
    const address = uniqueEmail("flags");
    const [row] = await register(fixture.merchantId, fixture.interviewId, {
      type: "invitation",
      hide_menu: "true",
      hide_iframe: true,
      is_test: true,
      users: [{ email: address, name: "Flag Tester" }],
    });
    assert.match(
      row.interview_url,
      /^https:\/\/interviews\.acme\.example\/interview\/take\/.*&view_hm=true&view_hi=true$/,
    );
    await dispatchOverHttp();
    const [message] = messagesTo(catcher.messages(), address);
    assert.deepEqual(linkInText(message), row.interview_url);
  },
);

Deno.test(
  "the invitation carries the registration's current link: a newer link issued before it went out replaces the old",
  async () => {
    const fixture = await createMerchant(sql);
    const address = uniqueEmail("newest");
    const [first] = await register(fixture.merchantId, fixture.interviewId, {
      type: "invitation",
      users: [{ email: address }],
    });
    // Registered again before any dispatcher ran: the first link is revoked, the invitation still queued.
    const [second] = await register(fixture.merchantId, fixture.interviewId, {
      type: "url",
      users: [{ email: address }],
    });
    assert.deepEqual(second.profile_interview_id, first.profile_interview_id);
    await dispatchOverHttp();
    const received = messagesTo(catcher.messages(), address);
    assert.deepEqual(received.length, 1);
    assert.deepEqual(linkInText(received[0]), second.interview_url);
  },
);

Deno.test(
  "templates follow the message's language, with English as the fallback, and a recruiter message is escaped",
  async () => {
    const fixture = await createMerchant(sql);
    const registerUsers = createRegistrar(server.runtime);
    const french = uniqueEmail("fr");
    const klingon = uniqueEmail("tlh");
    for (const [address, language] of [[french, "fr"], [klingon, "tlh"]]) {
      const { outcomes: [outcome] } = await registerUsers({ kind: "service" }, {
        interviewId: fixture.interviewId,
        merchantId: fixture.merchantId,
        isTest: false,
        sendInvitation: true,
        hideMenu: false,
        hideIframe: false,
        users: [{ email: address, name: "Zoé" }],
        language,
        emailPayload: { message_from_recruiter: "See you <soon>!\nBring a pen & paper." },
      }, Date.now() + 10_000);
      assert(outcome.ok);
    }
    await dispatchOverHttp();
    const [fr] = messagesTo(catcher.messages(), french);
    assert.match(fr.parsed.subject!, /vous invite à un entretien : Fixture interview$/);
    assert(fr.parsed.text!.includes("Bonjour Zoé,"));
    assert(fr.parsed.text!.includes("See you <soon>!\nBring a pen & paper."), "text part: verbatim");
    assert(fr.parsed.html!.includes("See you &lt;soon&gt;!\nBring a pen &amp; paper."), "HTML part: escaped");
    assert.match(
      fr.parsed.text!,
      /Il expire dans 30\u00a0jours, le \d+ \S+ \d{4}\./,
      "the link's expiry is written the French way",
    );
    assert.equal(header(fr, "content-language"), "fr");

    const [en] = messagesTo(catcher.messages(), klingon);
    assert.match(
      en.parsed.subject!,
      /invites you to an interview: Fixture interview$/,
      "unknown language: English",
    );
    assert.equal(
      header(en, "content-language"),
      "en",
      "the header says the language it is in, not the one asked",
    );
  },
);

Deno.test(
  "a message that cannot be rendered fails at once, with the reason, and is not retried",
  async () => {
    const fixture = await createMerchant(sql);
    const address = uniqueEmail("unrenderable");
    const [row] = await register(fixture.merchantId, fixture.interviewId, {
      type: "invitation",
      users: [{ email: address }],
    });
    const emptyDir = await Deno.makeTempDir({ prefix: "no-templates-" });
    const dispatcher = env.dispatcher(
      {},
      createTemplateRenderer({ templates: new URL(`file://${emptyDir}/`) }),
    );
    try {
      await dispatcher.dispatch();
    } finally {
      dispatcher.close();
      await Deno.remove(emptyDir, { recursive: true });
    }
    const [outbox] = await sql`select status, attempts, last_error from email_outbox
    where profile_interview_id = ${row.profile_interview_id} and kind = 'invitation'`;
    assert.deepEqual(outbox.status, "failed");
    assert.deepEqual(outbox.attempts, 1);
    assert.match(outbox.last_error, /No templates for email kind "invitation"/);
    assert.deepEqual(messagesTo(catcher.messages(), address).length, 0);
  },
);

Deno.test("template names that come from data never reach outside the templates folder", async () => {
  const render = createTemplateRenderer();
  await assert.rejects(() => render("../../config", "en", {}), MissingTemplateError);
  const rendered = await render("completion", "../../../etc", {
    merchant_name: "Acme",
    interview_name: "X",
    sender_name: "Acme",
    service_name: "JobMojito",
  });
  assert.match(
    rendered.subject,
    /^Thank you for completing your interview with Acme$/,
    "bad language: English",
  );
});

Deno.test("email-dispatch takes only the service key", async () => {
  const fixture = await createMerchant(sql);
  const none = await callFunction(server.functionsUrl, "email-dispatch", {});
  assert.deepEqual(none.status, 401);
  const user = await callFunction(server.functionsUrl, "email-dispatch", {
    token: await userToken(fixture.ownerId),
  });
  assert.deepEqual(user.status, 403);
  const get = await callFunction(server.functionsUrl, "email-dispatch", {
    method: "GET",
    token: LOCAL_SECRET_KEY,
  });
  assert.deepEqual(get.status, 405);
  const service = await dispatchOverHttp();
  assert.deepEqual(Object.keys(service).sort(), [
    "cancelled",
    "claimed",
    "failed",
    "released",
    "retried",
    "sent",
  ]);
});

Deno.test(
  "one email-dispatch invocation sends at most EMAIL_DISPATCH_MAX_MESSAGES; the next ones carry on",
  async () => {
    await using capped = await startTestServer({
      email: { ...server.runtime.config.email, dispatchMaxMessages: 2 },
    });
    const fixture = await createMerchant(sql);
    const addresses = Array.from({ length: 5 }, (_, i) => uniqueEmail(`capped${i}`));
    await register(fixture.merchantId, fixture.interviewId, {
      type: "invitation",
      users: addresses.map((email) => ({ email })),
    });
    for (let call = 0; call < 10; call++) {
      const reply = await callFunction(capped.functionsUrl, "email-dispatch", { token: LOCAL_SECRET_KEY });
      assert.equal(reply.status, 200);
      assert.ok(reply.body.claimed <= 2, JSON.stringify(reply.body));
      if (reply.body.claimed === 0) break;
    }
    for (const address of addresses) assert.equal(messagesTo(catcher.messages(), address).length, 1);
  },
);

Deno.test("the OpenAPI document describes email-dispatch and interview-complete", async () => {
  const reply = await callFunction(server.functionsUrl, "openapi", { method: "GET" });
  assert.deepEqual(reply.status, 200);
  const dispatch = reply.body.paths["/email-dispatch"].post;
  assert.deepEqual(dispatch.requestBody, undefined);
  assert.deepEqual(
    dispatch.responses[200].content["application/json"].schema.$ref,
    "#/components/schemas/EmailDispatchResponse",
  );
  const complete = reply.body.paths["/interview-complete"].post;
  assert.deepEqual(
    complete.requestBody.content["application/json"].schema.$ref,
    "#/components/schemas/InterviewCompleteRequest",
  );
  assert(reply.body.components.schemas.InterviewCompleteRequest.required.includes("profile_interview_id"));
});

Deno.test("email-dispatch's log lines carry the id of the request they belong to", async () => {
  const fixture = await createMerchant(sql);
  await register(fixture.merchantId, fixture.interviewId, {
    type: "invitation",
    users: [{ email: uniqueEmail("logs") }],
  });
  const { result: reply, lines } = await captureLogs(() =>
    callFunction(server.functionsUrl, "email-dispatch", { token: LOCAL_SECRET_KEY })
  );
  assert.equal(reply.status, 200);
  const requestId = reply.headers.get("x-request-id");
  const summary = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === "email dispatch");
  assert.ok(summary, lines.join("\n"));
  assert.equal(summary.request_id, requestId);
});

Deno.test(
  "internationalised addresses (a non-ASCII local part, an IDN domain) register and are delivered; malformed ones are refused",
  async () => {
    const fixture = await createMerchant(sql);
    const tag = crypto.randomUUID().slice(0, 8);
    const unicodeLocal = `josé.${tag}@example.com`;
    const idnDomain = `user.${tag}@bücher.example`;
    const rows = await register(fixture.merchantId, fixture.interviewId, {
      type: "invitation",
      users: [
        { email: unicodeLocal },
        { email: idnDomain },
        { email: `${tag}@bücher.example:25` },
        { email: `${tag}..x@example.com` },
        { email: `${tag}@localhost` },
      ],
    });
    assert.deepEqual(rows.map((r) => r.result), [
      "ok",
      "ok",
      "Error: Invalid email",
      "Error: Invalid email",
      "Error: Invalid email",
    ]);
    await dispatchOverHttp();
    // Over SMTPUTF8 (the catcher offers it, as major providers do) both go out as typed; the IDN's To
    // header carries its DNS (punycode) form.
    assert.equal(messagesTo(catcher.messages(), unicodeLocal).length, 1);
    const [idn] = messagesTo(catcher.messages(), idnDomain);
    assert.deepEqual(idn.parsed.to?.map((to) => to.address), [`user.${tag}@xn--bcher-kva.example`]);
  },
);
