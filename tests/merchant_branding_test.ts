/**
 * POST /merchant-branding and what it does to the emails, over real HTTP, PostgreSQL and SMTP: who may
 * brand a merchant, validation, concurrent changes, a branded invitation as it arrives (and as Chromium
 * shows it), and an invitation in each of the 34 languages with a truthful Content-Language.
 */
import assert from "node:assert/strict";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { EMAIL_KINDS } from "../supabase/functions/_shared/email/kinds.ts";
import { createTemplateRenderer } from "../supabase/functions/_shared/email/templates.ts";
import { MOJITO_LANGUAGE_CODES } from "../supabase/functions/_shared/schemas.ts";
import { countColors, launchChromium } from "./_support/browser.ts";
import { SEED, userToken } from "./_support/credentials.ts";
import { header, messagesTo, uniqueEmail, waitFor } from "./_support/email.ts";
import { createMerchant, createStaff } from "./_support/fixtures.ts";
import { callFunction, type Reply } from "./_support/http.ts";
import { startTestServer } from "./_support/server.ts";
import { fileEmailEnv } from "./_support/suite.ts";

const env = await fileEmailEnv();
const { sql, server, catcher } = env;

const brand = (token: string | undefined, body: unknown) =>
  callFunction(server.functionsUrl, "merchant-branding", { token, body });

async function stored(merchantId: string) {
  const [row] = await sql`select email_logo_url, email_brand_color, email_invitation_text
    from merchants where id = ${merchantId}`;
  return row;
}

async function register(merchantId: string, interviewId: string, body: Record<string, unknown>) {
  const reply = await callFunction(server.functionsUrl, "job-interview-register-users", {
    token: LOCAL_SECRET_KEY,
    body: { merchant_id: merchantId, interview_id: interviewId, type: "invitation", ...body },
  });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body as { result: string; interview_url: string }[];
}

Deno.test("every kind of email the database queues has templates and strings", async () => {
  const [{ kinds }] = await sql`select enum_range(null::public.email_kind)::text[] as kinds`;
  assert.deepEqual([...kinds].sort(), [...EMAIL_KINDS].sort());
});

Deno.test(
  "an owner brands the merchant: fields sent change, fields left out stay, null clears",
  async () => {
    const fixture = await createMerchant(sql);
    const owner = await userToken(fixture.ownerId);
    const empty = await brand(owner, {});
    assert.equal(empty.status, 200, JSON.stringify(empty.body));
    assert.deepEqual(empty.body, {
      merchant_id: fixture.merchantId,
      logo_url: null,
      brand_color: null,
      invitation: {},
    });

    const set = await brand(owner, {
      logo_url: "https://acme.example/logo.png",
      brand_color: "#0F766E",
      invitation: {
        fr: { subject: "  Votre entretien chez {merchant_name}  " },
        en: { intro: "Hello!\nWelcome." },
      },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body, {
      merchant_id: fixture.merchantId,
      logo_url: "https://acme.example/logo.png",
      brand_color: "#0f766e",
      invitation: {
        fr: { subject: "Votre entretien chez {merchant_name}" },
        en: { intro: "Hello!\nWelcome." },
      },
    });

    const partial = await brand(owner, {
      brand_color: null,
      invitation: { fr: null, de: { intro: "Willkommen" } },
    });
    assert.deepEqual(partial.body, {
      merchant_id: fixture.merchantId,
      logo_url: "https://acme.example/logo.png",
      brand_color: null,
      invitation: { en: { intro: "Hello!\nWelcome." }, de: { intro: "Willkommen" } },
    });
    assert.deepEqual(await stored(fixture.merchantId), {
      email_logo_url: "https://acme.example/logo.png",
      email_brand_color: null,
      email_invitation_text: { en: { intro: "Hello!\nWelcome." }, de: { intro: "Willkommen" } },
    });
  },
);

Deno.test(
  "who may brand a merchant: its owners, a parent's owners, admins, its API keys and the service key",
  async () => {
    const parent = await createMerchant(sql);
    const child = await createMerchant(sql, { parentId: parent.merchantId });
    const other = await createMerchant(sql);
    const staff = await createStaff(sql, child.merchantId, "merchant");
    const change = { brand_color: "#123456" };
    const createdKey = await callFunction(server.functionsUrl, "api-keys", {
      token: await userToken(child.ownerId),
      body: { name: "branding" },
    });
    assert.equal(createdKey.status, 201, JSON.stringify(createdKey.body));
    const apiKey = createdKey.body.key as string;

    for (
      const [who, token, merchantId] of [
        ["owner", await userToken(child.ownerId), child.merchantId],
        ["the parent's owner", await userToken(parent.ownerId), child.merchantId],
        ["an admin", await userToken(SEED.admin), child.merchantId],
        ["the service key", LOCAL_SECRET_KEY, child.merchantId],
        ["the merchant's API key", apiKey, child.merchantId],
      ] as const
    ) {
      const reply = await brand(token, { merchant_id: merchantId, ...change });
      assert.equal(reply.status, 200, `${who}: ${JSON.stringify(reply.body)}`);
    }
    const refusals: [string, string | undefined, unknown, number, unknown][] = [
      ["staff", await userToken(staff), { ...change }, 403, { error: "Role not permitted" }],
      [
        "another merchant's owner",
        await userToken(other.ownerId),
        { merchant_id: child.merchantId, ...change },
        403,
        {
          error: "Not allowed to act for this merchant",
          name: "merchant_id",
        },
      ],
      ["the service key without merchant_id", LOCAL_SECRET_KEY, change, 422, {
        error: "Field is required.",
        name: "merchant_id",
      }],
      ["nobody", undefined, { merchant_id: child.merchantId, ...change }, 401, {
        error: "Missing credential: Authorization: Bearer, x-api-key or apikey",
      }],
    ];
    await sql`update merchants set email_brand_color = '#abcdef' where id = ${child.merchantId}`;
    for (const [who, token, body, status, error] of refusals) {
      const reply = await brand(token, { brand_color: "#000000", ...(body as object) });
      assert.equal(reply.status, status, who);
      assert.deepEqual(reply.body, error, who);
    }
    assert.equal(
      (await stored(child.merchantId)).email_brand_color,
      "#abcdef",
      "no refused request changed it",
    );
  },
);

Deno.test("validation: the documented 422s, and nothing changes", async () => {
  const fixture = await createMerchant(sql);
  const owner = await userToken(fixture.ownerId);
  const cases: [unknown, { error: string; name?: string }][] = [
    [{ logo_url: "http://acme.example/logo.png" }, { error: "Must be an https:// URL", name: "logo_url" }],
    [{ logo_url: 'https://acme.example/"onerror=x' }, { error: "Must be an https:// URL", name: "logo_url" }],
    [{ logo_url: "https://" + "a".repeat(2050) }, { error: "At most 2048 characters", name: "logo_url" }],
    [{ brand_color: "red" }, { error: 'Must be a colour as "#rrggbb"', name: "brand_color" }],
    [{ brand_color: "#12345" }, { error: 'Must be a colour as "#rrggbb"', name: "brand_color" }],
    [{ brand_colour: "#123456" }, { error: 'Unrecognized key: "brand_colour"' }],
    [{ invitation: { xx: { subject: "Hi" } } }, {
      error: `Unknown language "xx"; languages are: ${MOJITO_LANGUAGE_CODES.join(", ")}`,
      name: "invitation",
    }],
    [{ invitation: { fr: { subject: "Line\nbreak" } } }, {
      error: "Must be one line, without control characters",
      name: "invitation.fr.subject",
    }],
    [{ invitation: { fr: { subject: "x".repeat(201) } } }, {
      error: "At most 200 characters",
      name: "invitation.fr.subject",
    }],
    [{ invitation: { fr: { intro: "Hi {candidate}" } } }, {
      error: "The only placeholders are {merchant_name}, {interview_name}, {recipient_name}",
      name: "invitation.fr.intro",
    }],
    [{ invitation: { fr: { intro: "bell\u0007" } } }, {
      error: "Contains a control character",
      name: "invitation.fr.intro",
    }],
    [{ invitation: { fr: { intro: "   " } } }, { error: "Must not be empty", name: "invitation.fr.intro" }],
    [{ invitation: { fr: {} } }, {
      error: 'Give "subject", "intro" or both (null removes the language)',
      name: "invitation.fr",
    }],
    [{ invitation: { fr: { footer: "ours" } } }, {
      error: 'Unknown field "footer": a merchant sets "subject" and "intro"',
      name: "invitation.fr",
    }],
    [{ invitation: { fr: "Bonjour" } }, {
      error: 'Must be an object with "subject" and/or "intro"',
      name: "invitation.fr",
    }],
    [{ invitation: ["fr"] }, { error: "Must be an object of languages", name: "invitation" }],
    [{ merchant_id: "nope" }, { error: "Must be a UUID", name: "merchant_id" }],
  ];
  const before = await stored(fixture.merchantId);
  for (const [body, expected] of cases) {
    const reply = await brand(owner, body);
    assert.equal(reply.status, 422, JSON.stringify(body).slice(0, 100));
    assert.deepEqual(reply.body, expected, JSON.stringify(body).slice(0, 100));
  }
  const notJson = await callFunction(server.functionsUrl, "merchant-branding", {
    token: owner,
    rawBody: "[",
  });
  assert.equal(notJson.status, 422);
  assert.deepEqual(await stored(fixture.merchantId), before);
});

Deno.test("concurrent changes of different languages all stay", async () => {
  const fixture = await createMerchant(sql);
  const owner = await userToken(fixture.ownerId);
  const languages = MOJITO_LANGUAGE_CODES.slice(0, 12);
  // A server of its own with a connection for each request, and the merchant's row held (on the test's
  // pool) until all of them wait for it at the database, so they really overlap.
  const racers = await startTestServer({ dbPoolSize: 15 });
  const blocker = await sql.reserve();
  let pending: Promise<Reply[]> | undefined;
  try {
    await blocker`begin`;
    await blocker`select 1 from merchants where id = ${fixture.merchantId} for update`;
    pending = Promise.all(
      languages.map((code) =>
        callFunction(racers.functionsUrl, "merchant-branding", {
          token: owner,
          body: { invitation: { [code]: { subject: `Subject ${code}` } } },
        })
      ),
    );
    await waitFor(`all ${languages.length} requests waiting at the database at once`, async () => {
      const [{ waiting }] = await sql`select count(*)::int as waiting from pg_stat_activity
        where wait_event_type = 'Lock' and query like '%app.merchant_branding%'`;
      return waiting === languages.length;
    });
  } finally {
    await blocker`commit`;
    blocker.release();
  }
  const replies = await pending;
  await racers.close();
  assert.deepEqual(replies.map((reply) => reply.status), Array(languages.length).fill(200));
  const { email_invitation_text } = await stored(fixture.merchantId);
  assert.deepEqual(
    Object.keys(email_invitation_text).sort(),
    [...languages].sort(),
    "no change lost to another",
  );
  for (const code of languages) assert.deepEqual(email_invitation_text[code], { subject: `Subject ${code}` });
});

Deno.test(
  "a branded invitation arrives with the merchant's subject, paragraph, logo and colour, escaped, and Chromium shows them",
  async () => {
    const fixture = await createMerchant(sql);
    const owner = await userToken(fixture.ownerId);
    const logo = "https://logo.acme.example/logo.svg";
    const reply = await brand(owner, {
      logo_url: logo,
      brand_color: "#0f766e",
      invitation: {
        fr: {
          subject: "{merchant_name} <vous> attend : {interview_name}",
          intro: "Bonjour de la part de <b>l'équipe</b> & co !\nPréparez {interview_name}.",
        },
      },
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const french = uniqueEmail("branded-fr");
    const german = uniqueEmail("branded-de");
    const [fr] = await register(fixture.merchantId, fixture.interviewId, {
      mojito_language_code: "fr",
      users: [{ email: french, name: "Zoé" }],
    });
    await register(fixture.merchantId, fixture.interviewId, {
      mojito_language_code: "de",
      users: [{ email: german, name: "Jörg" }],
    });
    await env.dispatchOnce();

    const [message] = messagesTo(catcher.messages(), french);
    assert.equal(
      message.parsed.subject,
      "Fixture " + fixture.merchantId.slice(0, 8) + " <vous> attend : Fixture interview",
    );
    assert.equal(header(message, "content-language"), "fr");
    const html = message.parsed.html!;
    assert.ok(
      html.includes(
        "Bonjour de la part de &lt;b&gt;l&#39;équipe&lt;/b&gt; &amp; co !\nPréparez Fixture interview.",
      ),
    );
    assert.ok(!html.includes("<b>l'équipe"));
    assert.ok(html.includes(`<img src="${logo}"`));
    assert.ok(html.includes("background:#0f766e"));
    assert.ok(
      html.includes(fr.interview_url.replaceAll("&", "&amp;")),
      "the link is ours, the one the API returned",
    );
    assert.ok(message.parsed.text!.includes("Ce lien est personnel"), "the link's terms are ours");
    assert.ok(message.parsed.text!.includes("Bonjour Zoé,"), "our greeting");

    const [inGerman] = messagesTo(catcher.messages(), german);
    assert.match(
      inGerman.parsed.subject!,
      /lädt Sie zu einem Interview ein: Fixture interview$/,
      "no German texts set",
    );
    assert.equal(header(inGerman, "content-language"), "de");
    assert.ok(
      inGerman.parsed.html!.includes("background:#0f766e"),
      "the colour is the merchant's in every language",
    );

    // What a person sees: the brand colour (top bar, button) and the logo, fetched from the merchant's URL.
    const LOGO_COLOR = "#ff00aa";
    const unbranded = await createTemplateRenderer()("invitation", "fr", {
      merchant_name: "Acme",
      interview_name: "Fixture interview",
      recipient_name: "Zoé",
      sender_name: "Acme",
      service_name: "JobMojito",
      interview_url: fr.interview_url,
      link_expires_at: Date.now() / 1000 + 86400 * 3,
    });
    const browser = await launchChromium();
    try {
      const shots: Record<string, Uint8Array> = {};
      for (const [name, body] of [["branded", html], ["unbranded", unbranded.html]] as const) {
        const page = await browser.newPage({ viewport: { width: 640, height: 900 } });
        // Nothing leaves the machine: the logo is answered here, everything else refused.
        await page.route("**/*", (route) => route.abort());
        await page.route(logo, (route) =>
          route.fulfill({
            contentType: "image/svg+xml",
            body: `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40">` +
              `<rect width="160" height="40" fill="${LOGO_COLOR}"/></svg>`,
          }));
        await page.setContent(body, { waitUntil: "load" });
        shots[name] = await page.screenshot({ fullPage: true });
        await page.close();
      }
      await Deno.mkdir(".local/screenshots", { recursive: true });
      await Deno.writeFile(".local/screenshots/invitation-branded.png", shots.branded);
      const branded = await countColors(browser, shots.branded, ["#0f766e", LOGO_COLOR]);
      const plain = await countColors(browser, shots.unbranded, ["#0f766e", LOGO_COLOR]);
      // The top bar alone is 560 x 6 px, the button about 200 x 45; the logo 160 x 40.
      assert.ok(branded["#0f766e"] > 5000, `brand colour pixels: ${JSON.stringify(branded)}`);
      assert.ok(branded[LOGO_COLOR] > 6000, `logo pixels: ${JSON.stringify(branded)}`);
      assert.deepEqual(plain, { "#0f766e": 0, [LOGO_COLOR]: 0 }, "neither without the branding");
    } finally {
      await browser.close();
    }
  },
);

Deno.test(
  "an invitation sent with each of the 34 codes arrives in that language, with a truthful Content-Language",
  async () => {
    const fixture = await createMerchant(sql);
    const render = createTemplateRenderer();
    const addresses = new Map(MOJITO_LANGUAGE_CODES.map((code) => [code, uniqueEmail(`lang-${code}`)]));
    for (const [code, address] of addresses) {
      await register(fixture.merchantId, fixture.interviewId, {
        mojito_language_code: code,
        users: [{ email: address }],
      });
    }
    const defaulted = uniqueEmail("lang-default");
    await register(fixture.merchantId, fixture.interviewId, { users: [{ email: defaulted }] });
    await env.dispatchOnce();

    const merchantName = `Fixture ${fixture.merchantId.slice(0, 8)}`;
    for (const [code, address] of addresses) {
      const [message] = messagesTo(catcher.messages(), address);
      assert.ok(message, code);
      const expected = await render("invitation", code, {
        merchant_name: merchantName,
        interview_name: "Fixture interview",
        sender_name: "x",
        service_name: "x",
        interview_url: "x",
        link_expires_at: 0,
      });
      assert.equal(message.parsed.subject, expected.subject, code);
      assert.equal(header(message, "content-language"), expected.language, code);
      assert.match(message.parsed.html!, new RegExp(`<html lang="${expected.language}"`), code);
    }
    assert.equal(
      header(messagesTo(catcher.messages(), addresses.get("br")!)[0], "content-language"),
      "pt-BR",
    );
    assert.equal(header(messagesTo(catcher.messages(), addresses.get("no")!)[0], "content-language"), "nb");
    const [english] = messagesTo(catcher.messages(), defaulted);
    assert.equal(header(english, "content-language"), "en", "register-users without a language: English");

    const bad = await callFunction(server.functionsUrl, "job-interview-register-users", {
      token: LOCAL_SECRET_KEY,
      body: {
        merchant_id: fixture.merchantId,
        interview_id: fixture.interviewId,
        mojito_language_code: "pt-BR",
        users: [{ email: uniqueEmail("lang-bad") }],
      },
    });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.body, {
      error: `Must be one of: ${MOJITO_LANGUAGE_CODES.join(", ")}`,
      name: "mojito_language_code",
    });
  },
);
