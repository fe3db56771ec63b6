import { Liquid } from "liquidjs";
import {
  type Catalogue,
  escapeHtml,
  formatDate,
  formatHtml,
  formatText,
  formatTimeLeft,
  MissingStringError,
  parseCatalogue,
  placeholders,
  REFERENCE_LANGUAGE,
  SafeHtml,
  type Values,
} from "./i18n.ts";

/**
 * Emails are layouts apart from words. `templates/layout.html` and `layout.txt` hold what every message
 * shares (the merchant's logo and colour, the legal footer), `templates/<kind>.html` and `<kind>.txt`
 * each kind's body, in Liquid (https://liquidjs.com), with no words of any language: every sentence is
 * `{{ "kind.key" | t }}`, looked up in `strings/<language>.json` (see i18n.ts) and filled in with the
 * template's variables; the subject is the strings' `<kind>.subject`. A message in a language with no
 * strings file is rendered in English; a sentence missing from a language is an error, never a key or an
 * English sentence in the message.
 *
 * Everything printed in the HTML part is escaped: Liquid escapes every value, and `t` escapes its
 * sentence and each value it fills in. The plain-text part and the subject are not HTML and are printed
 * as they are; the subject is also folded onto one line.
 */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
  /** The BCP 47 tag of the language it is written in (Content-Language): "pt-BR" for `br`. */
  language: string;
}

/** A merchant's branding (merchants.email_*), as app.claim_emails hands it out. */
export interface Branding {
  logo_url?: string | null;
  /** "#rrggbb" */
  brand_color?: string | null;
  /** The invitation's subject and opening paragraph in the message's language, when the merchant set them. */
  invitation_text?: { subject?: string | null; intro?: string | null } | null;
}

export type TemplateRenderer = (
  kind: string,
  language: string,
  view: Record<string, unknown>,
  branding?: Branding,
) => Promise<RenderedEmail>;

export const FALLBACK_LANGUAGE = REFERENCE_LANGUAGE;
export const TEMPLATES_DIR = new URL("./templates/", import.meta.url);
export const STRINGS_DIR = new URL("./strings/", import.meta.url);
/** The colour of buttons and the top bar when the merchant set none. */
export const DEFAULT_BRAND_COLOR = "#2563eb";
/** What a merchant's subject and opening paragraph may name: `{merchant_name}` and so on. */
export const OVERRIDE_PLACEHOLDERS = ["merchant_name", "interview_name", "recipient_name"] as const;

/** Raised for a kind with no templates: no retry can fix that, an operator must. */
export class MissingTemplateError extends Error {
  constructor(kind: string) {
    super(`No templates for email kind "${kind}"`);
    this.name = "MissingTemplateError";
  }
}

// Both come from data: only plain names may reach the file system.
const SAFE_NAME = /^[a-z0-9_-]{1,40}$/;

async function readIfExists(url: URL): Promise<string | null> {
  try {
    return await Deno.readTextFile(url);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/** Relative luminance (WCAG 2) of "#rrggbb". */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
const contrast = (a: number, b: number) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);

/**
 * The colours a brand colour gives: itself for the bar and buttons, white or near-black text on it
 * (whichever reads better), and itself for links only where it reads on white (WCAG AA, 4.5:1).
 */
export function brandColors(brandColor: string | null | undefined) {
  const brand = /^#[0-9a-fA-F]{6}$/.test(brandColor ?? "") ? brandColor!.toLowerCase() : DEFAULT_BRAND_COLOR;
  const l = luminance(brand);
  return {
    brand_color: brand,
    brand_text_color: contrast(l, 1) >= contrast(l, luminance("#1f2933")) ? "#ffffff" : "#1f2933",
    link_color: contrast(l, 1) >= 4.5 ? brand : DEFAULT_BRAND_COLOR,
  };
}

/** A merchant's own sentence: its placeholders filled in, nothing else interpreted. */
function fillOverride(sentence: string, values: Values): string {
  return sentence.replace(/\{([a-z_]+)\}/g, (whole, name: string) => {
    if (!(OVERRIDE_PLACEHOLDERS as readonly string[]).includes(name)) return whole;
    return String(values[name] ?? "");
  });
}

/** The template variables a sentence can name: the view's strings and numbers. */
function placeholderValues(scope: Record<string, unknown>): Values {
  const values: Values = {};
  for (const [key, value] of Object.entries(scope)) {
    if (typeof value === "string" || value instanceof SafeHtml) values[key] = value;
    else if (typeof value === "number") values[key] = String(value);
  }
  return values;
}

export interface RendererOptions {
  templates?: URL;
  strings?: URL;
}

export function createTemplateRenderer(options: RendererOptions = {}): TemplateRenderer {
  const templatesDir = options.templates ?? TEMPLATES_DIR;
  const stringsDir = options.strings ?? STRINGS_DIR;
  const files = new Map<string, Promise<string | null>>();
  const catalogues = new Map<string, Promise<Catalogue | null>>();

  function read(dir: URL, name: string): Promise<string | null> {
    const key = new URL(name, dir).href;
    let entry = files.get(key);
    if (!entry) {
      entry = readIfExists(new URL(name, dir));
      entry.catch(() => files.delete(key));
      files.set(key, entry);
    }
    return entry;
  }

  /** A language's checked strings, or null when it has no file. */
  function catalogue(code: string): Promise<Catalogue | null> {
    let entry = catalogues.get(code);
    if (!entry) {
      entry = (async () => {
        const json = await read(stringsDir, `${code}.json`);
        if (json === null) return null;
        const reference = code === REFERENCE_LANGUAGE ? undefined : await catalogue(REFERENCE_LANGUAGE);
        if (code !== REFERENCE_LANGUAGE && !reference) {
          throw new Error(`No ${REFERENCE_LANGUAGE}.json strings`);
        }
        return parseCatalogue(code, json, reference ?? undefined);
      })();
      entry.catch(() => catalogues.delete(code));
      catalogues.set(code, entry);
    }
    return entry;
  }

  // Liquid looks templates up by name (the layout tag included) in this in-memory map, which
  // `load` fills from the templates folder: nothing else reaches the file system.
  const sources: Record<string, string> = {};
  async function load(name: string): Promise<boolean> {
    if (name in sources) return true;
    const source = await read(templatesDir, name);
    if (source === null) return false;
    sources[name] = source;
    return true;
  }

  function engine(html: boolean): Liquid {
    const liquid = new Liquid({
      templates: sources,
      // Parsed once per name.
      cache: true,
      ownPropertyOnly: true,
      strictFilters: true,
      ...(html
        ? {
          outputEscape: (value: unknown) =>
            value instanceof SafeHtml ? value.html : escapeHtml(String(value)),
        }
        : {}),
    });
    // {{ "kind.key" | t }}: the sentence in the message's language, its placeholders filled in from the
    // template's variables (or from `name: value` arguments), escaped in the HTML part.
    liquid.registerFilter("t", function (key: unknown, ...args: [string, unknown][]) {
      const strings = this.context.getSync(["_catalogue"]) as Catalogue;
      const sentence = strings.strings.get(String(key));
      if (sentence === undefined) throw new MissingStringError(strings.code, String(key));
      const named = Object.fromEntries(args);
      const values = placeholderValues(
        Object.fromEntries(
          placeholders(sentence).map((name) => [name, named[name] ?? this.context.getSync([name])]),
        ),
      );
      const what = `strings/${strings.code}.json "${key}"`;
      return html ? formatHtml(sentence, values, what) : formatText(sentence, values, what);
    });
    return liquid;
  }
  const htmlEngine = engine(true);
  const textEngine = engine(false);

  return async (kind, language, view, branding = {}) => {
    if (!SAFE_NAME.test(kind)) throw new MissingTemplateError(kind);
    const found = await Promise.all(
      [`${kind}.html`, `${kind}.txt`, "layout.html", "layout.txt"].map((name) => load(name)),
    );
    if (found.includes(false)) throw new MissingTemplateError(kind);
    const wanted = language.toLowerCase();
    const own = SAFE_NAME.test(wanted) ? await catalogue(wanted) : null;
    const strings = own ?? await catalogue(FALLBACK_LANGUAGE);
    if (!strings) throw new Error(`No ${FALLBACK_LANGUAGE}.json strings`);

    const scope: Record<string, unknown> = {
      ...view,
      lang: strings.locale,
      dir: strings.dir,
      // The side text starts on, for the few styles email clients only take as left/right.
      start: strings.dir === "rtl" ? "right" : "left",
      ...brandColors(branding.brand_color),
      logo_url: branding.logo_url ?? null,
    };
    if (typeof view.link_expires_at === "number") {
      scope.link_expires_on = formatDate(view.link_expires_at, strings.locale);
      scope.link_time_left = formatTimeLeft(view.link_expires_at, Date.now() / 1000, strings.locale);
    }
    const overrides = kind === "invitation" ? branding.invitation_text : null;
    const values = placeholderValues(scope);
    if (overrides?.intro) scope.intro_override = fillOverride(overrides.intro, values);
    const subjectSentence = strings.strings.get(`${kind}.subject`);
    if (subjectSentence === undefined) throw new MissingStringError(strings.code, `${kind}.subject`);
    const subject = overrides?.subject
      ? fillOverride(overrides.subject, values)
      : formatText(subjectSentence, values, `strings/${strings.code}.json "${kind}.subject"`);
    scope.subject = subject;
    scope._catalogue = strings;

    // Everything is in memory by now: rendering synchronously skips Liquid's promise per tag and value,
    // most of a render's time.
    const text = textEngine.renderFileSync(`${kind}.txt`, scope);
    const html = htmlEngine.renderFileSync(`${kind}.html`, scope);
    return {
      subject: subject.replace(/\s+/g, " ").trim(),
      text: text.replace(/\n{3,}/g, "\n\n").trim() + "\n",
      html,
      language: strings.locale,
    };
  };
}
