/**
 * The words of the emails: one strings file per language, `strings/<code>.json`, named by the API's
 * `mojito_language_code`. Each holds the BCP 47 `locale` the language is written in (`br` is `pt-BR`,
 * `no` is `nb`) and every sentence, subject and label, grouped by email kind. Dates and durations are
 * not in the files: `Intl` writes them in the locale, plurals included ("1 day", "5 дней", "5 أيام").
 *
 * A sentence is plain text with `{placeholder}`s named after template variables, and `**...**` around
 * what the HTML part shows in bold (the plain-text part drops the asterisks). English is the reference:
 * every other file must have exactly its keys, and each sentence exactly its placeholders, or loading the
 * language fails; a language is never patched up with English words.
 */

/** A language's strings as loaded and checked. */
export interface Catalogue {
  /** The API's code, e.g. "br". */
  code: string;
  /** BCP 47, for Intl, `lang` and Content-Language, e.g. "pt-BR". */
  locale: string;
  dir: "ltr" | "rtl";
  /** "kind.key" -> sentence. */
  strings: Map<string, string>;
}

export const REFERENCE_LANGUAGE = "en";

/** Raised for a sentence a template asks for that its language does not have: never printed as a key. */
export class MissingStringError extends Error {
  constructor(language: string, key: string) {
    super(`No string "${key}" in language "${language}"`);
    this.name = "MissingStringError";
  }
}

const PLACEHOLDER = /\{([a-z_]+)\}/g;

/** The placeholders a sentence names, sorted (remembered: a render asks for each sentence's). */
export function placeholders(sentence: string): string[] {
  let names = placeholderCache.get(sentence);
  if (!names) {
    names = [...new Set([...sentence.matchAll(PLACEHOLDER)].map((m) => m[1]))].sort();
    placeholderCache.set(sentence, names);
  }
  return names;
}
const placeholderCache = new Map<string, string[]>();

/** Flattens `{"invitation": {"subject": "..."}}` into "invitation.subject" -> "...". */
function flatten(value: unknown, prefix: string, into: Map<string, string>, file: string): void {
  if (typeof value === "string") {
    into.set(prefix, value);
    return;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${file}: "${prefix}" must be a string or an object of strings`);
  }
  for (const [key, inner] of Object.entries(value)) {
    flatten(inner, prefix ? `${prefix}.${key}` : key, into, file);
  }
}

/**
 * Parses and checks one strings file. `reference` (English) is what it must match: the same keys, and the
 * same placeholders in each sentence. The writing direction comes from Intl's data for the locale.
 */
export function parseCatalogue(code: string, json: string, reference?: Catalogue): Catalogue {
  const file = `strings/${code}.json`;
  const { locale, ...groups } = JSON.parse(json) as Record<string, unknown>;
  if (typeof locale !== "string") throw new Error(`${file}: "locale" must be a BCP 47 tag`);
  const canonical = Intl.getCanonicalLocales(locale)[0];
  const strings = new Map<string, string>();
  flatten(groups, "", strings, file);
  if (reference) {
    const missing = [...reference.strings.keys()].filter((key) => !strings.has(key));
    const extra = [...strings.keys()].filter((key) => !reference.strings.has(key));
    if (missing.length > 0) throw new Error(`${file}: missing ${missing.join(", ")}`);
    if (extra.length > 0) throw new Error(`${file}: not in ${REFERENCE_LANGUAGE}.json: ${extra.join(", ")}`);
    for (const [key, sentence] of strings) {
      const want = placeholders(reference.strings.get(key)!).join(",");
      if (placeholders(sentence).join(",") !== want) {
        throw new Error(`${file}: "${key}" must use the placeholders {${want.replaceAll(",", "}, {")}}`);
      }
    }
  }
  for (const [key, sentence] of strings) {
    if (sentence.trim() === "") throw new Error(`${file}: "${key}" is empty`);
    if ((sentence.match(/\*\*/g) ?? []).length % 2 !== 0) {
      throw new Error(`${file}: "${key}" has an unpaired **`);
    }
  }
  const dir = new Intl.Locale(canonical).getTextInfo().direction === "rtl" ? "rtl" : "ltr";
  return { code, locale: canonical, dir, strings };
}

/** Whatever the sentence's placeholders stand for; an entry of HTML is inserted as it is. */
export type Values = Record<string, string | SafeHtml>;

/** Markup this module built from escaped parts: Liquid's output escaping lets it through unchanged. */
export class SafeHtml {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

function fill(
  sentence: string,
  values: Values,
  what: string,
  render: (value: string | SafeHtml) => string,
): string {
  return sentence.replace(PLACEHOLDER, (_, name: string) => {
    const value = values[name];
    if (value === undefined || value === null) throw new Error(`${what}: no value for {${name}}`);
    return render(value);
  });
}

/**
 * A sentence as HTML: its words escaped, `**...**` as <strong>, each placeholder's value escaped (one pass,
 * so a value that looks like a placeholder or like markup stays text).
 */
export function formatHtml(sentence: string, values: Values, what: string): SafeHtml {
  const bolded = escapeHtml(sentence).replace(/\*\*(.+?)\*\*/gs, "<strong>$1</strong>");
  return new SafeHtml(
    fill(bolded, values, what, (value) => value instanceof SafeHtml ? value.html : escapeHtml(value)),
  );
}

/** A sentence as plain text: placeholders filled in, the bold markers dropped. */
export function formatText(sentence: string, values: Values, what: string): string {
  return fill(sentence.replaceAll("**", ""), values, what, (value) => String(value));
}

/** A date as the locale writes it ("November 21, 2026", "21 novembre 2026", "٢١ نوفمبر ٢٠٢٦"). */
export function formatDate(epochSeconds: number, locale: string): string {
  return formatter(
    `date ${locale}`,
    () => new Intl.DateTimeFormat(locale, { dateStyle: "long", timeZone: "UTC" }),
  )
    .format(epochSeconds * 1000);
}

// An Intl formatter costs a quarter to most of a millisecond to make, several times a render: one each.
const formatters = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat>();
function formatter<F extends Intl.DateTimeFormat | Intl.NumberFormat>(key: string, make: () => F): F {
  let made = formatters.get(key) as F | undefined;
  if (!made) formatters.set(key, made = make());
  return made;
}

/**
 * How long from `nowSeconds` until `epochSeconds`, with the locale's plural ("1 day", "3 days", "2 дня",
 * "5 дней"): in days to the nearest day from two days on (a 30-day link sent a second after it was made
 * still says 30), below that in whole hours, rounded down and at least one.
 */
export function formatTimeLeft(epochSeconds: number, nowSeconds: number, locale: string): string {
  const seconds = epochSeconds - nowSeconds;
  const [amount, unit] = seconds >= 48 * 3600
    ? [Math.round(seconds / 86400), "day"]
    : [Math.max(1, Math.floor(seconds / 3600)), "hour"];
  return formatter(
    `${unit} ${locale}`,
    () => new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "long" }),
  )
    .format(amount);
}
