/**
 * The emails' words and layouts, without a database: every kind in every language the API accepts,
 * right-to-left Arabic, what a missing or broken string does, and a merchant's texts and colours.
 */
import assert from "node:assert/strict";
import { sampleView } from "../scripts/email_preview.ts";
import { startMailCatcher } from "../scripts/mail_catcher.ts";
import { formatDate, formatTimeLeft, MissingStringError } from "../supabase/functions/_shared/email/i18n.ts";
import { EMAIL_KINDS, ENGLISH_ONLY_KINDS } from "../supabase/functions/_shared/email/kinds.ts";
import {
  brandColors,
  createTemplateRenderer,
  STRINGS_DIR,
  TEMPLATES_DIR,
} from "../supabase/functions/_shared/email/templates.ts";
import { MEMBER_ROLES } from "../supabase/functions/_shared/invitations/schemas.ts";
import { MOJITO_LANGUAGE_CODES } from "../supabase/functions/_shared/schemas.ts";

const render = createTemplateRenderer();

/** The locale each code must be written in: the API's codes that are not that language's BCP 47 tag. */
const EXPECTED_LOCALE: Record<string, string> = { br: "pt-BR", no: "nb", zh: "zh-CN", pt: "pt-PT" };

async function strings(code: string): Promise<Record<string, Record<string, string>> & { locale: string }> {
  return JSON.parse(await Deno.readTextFile(new URL(`${code}.json`, STRINGS_DIR)));
}

function sentences(file: Record<string, unknown>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [group, entries] of Object.entries(file)) {
    if (group === "locale") continue;
    for (const [key, value] of Object.entries(entries as Record<string, string>)) {
      out.set(`${group}.${key}`, value);
    }
  }
  return out;
}

/** A sentence of a kind marked as English everywhere until translated. */
function isEnglishOnly(key: string): boolean {
  return ENGLISH_ONLY_KINDS.some((kind) => key.startsWith(`${kind}.`));
}

/** A copy of the shipped templates and strings that a test may break. */
async function copyOfShipped(): Promise<{ templates: URL; strings: URL; dispose(): Promise<void> }> {
  const root = await Deno.makeTempDir({ prefix: "email-i18n-" });
  for (const [from, name] of [[TEMPLATES_DIR, "templates"], [STRINGS_DIR, "strings"]] as const) {
    await Deno.mkdir(`${root}/${name}`);
    for await (const entry of Deno.readDir(from)) {
      await Deno.copyFile(new URL(entry.name, from), `${root}/${name}/${entry.name}`);
    }
  }
  return {
    templates: new URL(`file://${root}/templates/`),
    strings: new URL(`file://${root}/strings/`),
    dispose: () => Deno.remove(root, { recursive: true }),
  };
}

Deno.test("one strings file per API language, and nothing else", async () => {
  const files = [];
  for await (const entry of Deno.readDir(STRINGS_DIR)) files.push(entry.name);
  assert.deepEqual(files.sort(), MOJITO_LANGUAGE_CODES.map((code) => `${code}.json`).sort());
});

Deno.test("every language renders every kind in its own locale: all 34 x 6, no key, no fallback", async () => {
  const english = sentences(await strings("en"));
  for (const code of MOJITO_LANGUAGE_CODES) {
    const file = await strings(code);
    const locale = EXPECTED_LOCALE[code] ?? code;
    assert.equal(file.locale, locale, `${code}.json: locale`);
    if (code !== "en") {
      // Translated, not English placeholders: only role names such as "mentor" may read the same.
      const untranslated = [...sentences(file)].filter(([key, value]) =>
        !key.startsWith("roles.") && !isEnglishOnly(key) && value === english.get(key)
      );
      assert.deepEqual(untranslated, [], `${code}.json: sentences left in English`);
    }
    for (const kind of EMAIL_KINDS) {
      for (
        const view of [sampleView(kind), {
          ...sampleView(kind),
          recipient_name: null,
          message_from_recruiter: null,
        }]
      ) {
        const email = await render(kind, code, view);
        const what = `${code}/${kind}`;
        assert.equal(email.language, locale, `${what}: Content-Language`);
        assert.match(
          email.html,
          new RegExp(`<html lang="${locale}" dir="${code === "ar" ? "rtl" : "ltr"}">`),
        );
        for (const [part, body] of [["subject", email.subject], ["text", email.text], ["html", email.html]]) {
          assert.doesNotMatch(
            body,
            /\{[a-z_]+\}|\*\*|\b(common|roles|invitation|reminder|completion|role_\w+)\.[a-z_]+\b/,
            `${what} ${part}: a key or placeholder left`,
          );
          assert.ok(!body.includes("undefined") && !body.includes("[object"), `${what} ${part}`);
        }
        assert.ok(email.subject.length > 0 && !email.subject.includes("\n"));
        assert.ok(email.text.includes("Acme Robotics") && email.html.includes("Acme Robotics"), what);
        if (code !== "en" && !ENGLISH_ONLY_KINDS.includes(kind)) {
          const inEnglish = await render(kind, "en", view);
          assert.notEqual(email.subject, inEnglish.subject, `${what}: subject in English`);
        }
        if ("link_expires_at" in view) {
          const date = formatDate(view.link_expires_at as number, locale);
          assert.ok(email.text.includes(date), `${what}: the expiry date as ${locale} writes it (${date})`);
          const left = formatTimeLeft(view.link_expires_at as number, Date.now() / 1000, locale);
          assert.ok(email.text.includes(left), `${what}: the time left as ${locale} writes it (${left})`);
        }
      }
    }
  }
});

Deno.test("plurals and dates come from Intl for the locale", () => {
  const now = 1_800_000_000;
  assert.equal(formatTimeLeft(now + 2 * 86400, now, "ru"), "2 дня");
  assert.equal(formatTimeLeft(now + 5 * 86400, now, "ru"), "5 дней");
  assert.equal(formatTimeLeft(now + 21 * 86400, now, "ru"), "21 день");
  assert.equal(formatTimeLeft(now + 30 * 86400 - 1, now, "en"), "30 days", "a day's last seconds round up");
  assert.equal(formatTimeLeft(now + 3 * 3600 + 59, now, "en"), "3 hours", "under two days: hours");
  assert.equal(formatTimeLeft(now + 60, now, "en"), "1 hour", "never less than one");
  assert.equal(formatTimeLeft(now + 5 * 86400, now, "ar"), "5 أيام");
  assert.equal(formatDate(Date.UTC(2026, 11, 7) / 1000, "pt-BR"), "7 de dezembro de 2026");
});

Deno.test("Arabic renders right to left, and the layout follows", async () => {
  const email = await render("invitation", "ar", sampleView("invitation"));
  assert.match(email.html, /<html lang="ar" dir="rtl">/);
  assert.match(email.html, /<body\s+dir="rtl"/);
  assert.match(email.html, /<div\s+dir="rtl"\s+style="[^"]*text-align:right/);
  assert.match(email.html, /border-right:4px solid/, "the quote's bar on the side text starts from");
  assert.match(email.html, /<a href="[^"]+" dir="ltr"/, "the link itself stays left to right");
  assert.ok(email.subject.includes("تدعوك Acme Robotics"));
  const english = await render("invitation", "en", sampleView("invitation"));
  assert.match(english.html, /border-left:4px solid/);
});

Deno.test("a missing string fails the render, and a broken strings file fails its language", async () => {
  const copy = await copyOfShipped();
  try {
    // A template asking for a sentence no language has.
    const body = await Deno.readTextFile(new URL("completion.html", copy.templates));
    await Deno.writeTextFile(
      new URL("completion.html", copy.templates),
      body.replace('"completion.intro"', '"completion.outro"'),
    );
    // A language missing a sentence English has, and one whose sentence lost a placeholder.
    const de = await strings("de");
    delete (de.reminder as Record<string, string>).intro;
    await Deno.writeTextFile(new URL("de.json", copy.strings), JSON.stringify(de));
    const fr = await strings("fr");
    fr.invitation.subject = "Un entretien vous attend";
    await Deno.writeTextFile(new URL("fr.json", copy.strings), JSON.stringify(fr));

    const broken = createTemplateRenderer(copy);
    await assert.rejects(
      () => broken("completion", "it", sampleView("completion")),
      (err: Error) => {
        const cause = err instanceof MissingStringError
          ? err
          : (err as { originalError?: Error }).originalError;
        assert.ok(cause instanceof MissingStringError, String(err));
        assert.match(cause.message, /No string "completion.outro" in language "it"/);
        return true;
      },
    );
    await assert.rejects(
      () => broken("invitation", "de", sampleView("invitation")),
      /de\.json: missing reminder\.intro/,
    );
    await assert.rejects(
      () => broken("reminder", "fr", sampleView("reminder")),
      /fr\.json: "invitation\.subject" must use the placeholders \{interview_name\}, \{merchant_name\}/,
    );
    // The languages left intact still render.
    assert.equal((await broken("invitation", "it", sampleView("invitation"))).language, "it");
  } finally {
    await copy.dispose();
  }
});

Deno.test("a sentence is missing a value: an error, not a blank", async () => {
  const { service_name: _, ...view } = sampleView("completion");
  await assert.rejects(
    () => render("completion", "en", view),
    /"common\.footer": no value for \{service_name\}/,
  );
});

Deno.test("a merchant's subject and opening paragraph replace ours, escaped, and only in invitations", async () => {
  const branding = {
    brand_color: "#0F766E",
    logo_url: "https://acme.example/logo.png?size=2&v=<3>",
    invitation_text: {
      subject: "{recipient_name}, <b>your</b> interview: {interview_name} {unknown}",
      intro: 'Welcome to {merchant_name} & co!\n<script>alert("x")</script> {interview_name}',
    },
  };
  const view = { ...sampleView("invitation"), merchant_name: 'Acme "<Robotics>"' };
  const email = await render("invitation", "fr", view, branding);
  assert.equal(email.subject, "Zoé Durand, <b>your</b> interview: Senior Backend Engineer {unknown}");
  assert.ok(
    email.text.includes(
      'Welcome to Acme "<Robotics>" & co!\n<script>alert("x")</script> Senior Backend Engineer',
    ),
  );
  assert.ok(email.html.includes(
    '<p dir="auto" style="white-space:pre-line">Welcome to Acme &quot;&lt;Robotics&gt;&quot; &amp; co!\n' +
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Senior Backend Engineer</p>",
  ));
  assert.ok(!email.html.includes("<script>") && !email.html.includes("<b>your"));
  assert.ok(
    email.html.includes("<title>Zoé Durand, &lt;b&gt;your&lt;/b&gt;"),
    "the subject in <title> escaped",
  );
  assert.ok(email.html.includes('src="https://acme.example/logo.png?size=2&amp;v=&lt;3&gt;"'));
  assert.ok(email.html.includes("background:#0f766e"));
  // Ours stays: the greeting, the link and its expiry, the footer, all in French.
  assert.ok(email.text.startsWith("Bonjour Zoé Durand,"));
  assert.ok(email.text.includes(sampleView("invitation").interview_url as string));
  assert.match(email.text, /Ce lien est personnel/);
  assert.match(email.text, /JobMojito vous a envoyé cet e-mail pour le compte de Acme "<Robotics>"/);
  assert.ok(!email.text.includes("vous invite à passer"), "our opening paragraph gave way");

  const reminder = await render("reminder", "fr", sampleView("reminder"), branding);
  assert.match(reminder.subject, /^Rappel : votre entretien avec Acme Robotics vous attend$/);
  assert.ok(reminder.html.includes("background:#0f766e"), "logo and colour on every kind");
  assert.ok(reminder.html.includes('src="https://acme.example/logo.png'));
});

Deno.test("brand colours stay readable: text on the button, links on white", () => {
  assert.deepEqual(brandColors("#FFEE00"), {
    brand_color: "#ffee00",
    brand_text_color: "#1f2933",
    link_color: "#2563eb",
  });
  assert.deepEqual(brandColors("#0f766e"), {
    brand_color: "#0f766e",
    brand_text_color: "#ffffff",
    link_color: "#0f766e",
  });
  assert.equal(brandColors(null).brand_color, "#2563eb");
  assert.equal(brandColors("red;background:url(x)").brand_color, "#2563eb", "only #rrggbb reaches a style");
});

Deno.test("every role reads in every language", async () => {
  for (const code of MOJITO_LANGUAGE_CODES) {
    const labels = new Set<string>();
    for (const role of MEMBER_ROLES) {
      for (const kind of ["role_invitation", "role_granted"]) {
        const email = await render(kind, code, { ...sampleView(kind), role });
        assert.doesNotMatch(email.text, /roles\./, `${code}/${kind}/${role}`);
      }
      labels.add((await strings(code)).roles[role]);
    }
    assert.equal(labels.size, MEMBER_ROLES.length, `${code}: five different role names`);
  }
});

Deno.test("the mail catcher previews any kind in any language, with a merchant's branding", async () => {
  await using catcher = await startMailCatcher({ httpPort: 0 });
  const index = await (await fetch(`${catcher.webUrl}/preview`)).text();
  for (const code of MOJITO_LANGUAGE_CODES) {
    for (const kind of EMAIL_KINDS) {
      assert.ok(index.includes(`href="/preview/${code}/${kind}"`), `${code}/${kind}`);
    }
  }
  const page = await fetch(
    `${catcher.webUrl}/preview/br/invitation?brand_color=%230f766e&subject=${
      encodeURIComponent("Oi {recipient_name}")
    }`,
  );
  assert.equal(page.status, 200);
  const body = await page.text();
  assert.ok(body.includes("<td>Oi Zoé Durand</td>"));
  assert.ok(body.includes("<td>pt-BR</td>"));
  assert.ok(body.includes("background:#0f766e"), "the branded HTML, in the frame");
  assert.ok(body.includes("Comece sua entrevista aqui:"), "the text part");

  const refused = await fetch(
    `${catcher.webUrl}/preview/ar/invitation?logo_url=${encodeURIComponent("javascript:x")}`,
  );
  assert.equal(refused.status, 422);
  assert.match(await refused.text(), /logo_url: Must be an https:\/\/ URL/);
  for (const path of ["xx/invitation", "fr/welcome"]) {
    const missing = await fetch(`${catcher.webUrl}/preview/${path}`);
    assert.equal(missing.status, 404, path);
    await missing.body?.cancel();
  }
});
