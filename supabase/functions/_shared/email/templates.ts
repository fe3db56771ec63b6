import { Liquid, type Template } from "liquidjs";

/**
 * Email templates are files: `templates/<language>/<kind>.subject.txt`,
 * `<kind>.txt` and `<kind>.html`, in Liquid (https://liquidjs.com). A kind
 * with no files in the message's language is rendered in English.
 *
 * Everything a template prints is HTML-escaped in the HTML part (Liquid's
 * `outputEscape`), so names, interview titles and recruiter messages cannot
 * inject markup. The plain-text part and the subject are not HTML and are
 * printed as they are; the subject is also folded onto one line.
 */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
  /** The language the templates were in: the message's own, or English when it had none. */
  language: string;
}

export type TemplateRenderer = (
  kind: string,
  language: string,
  view: Record<string, unknown>,
) => Promise<RenderedEmail>;

export const FALLBACK_LANGUAGE = "en";
export const TEMPLATES_DIR = new URL("./templates/", import.meta.url);

/** Raised for a kind with no English templates: no retry can fix that, an operator must. */
export class MissingTemplateError extends Error {
  constructor(kind: string) {
    super(`No templates for email kind "${kind}"`);
    this.name = "MissingTemplateError";
  }
}

interface TemplateSet {
  subject: Template[];
  text: Template[];
  html: Template[];
}

// Both parts of a path come from data: only plain names may reach the file system.
const SAFE_NAME = /^[a-z0-9_-]{1,40}$/;

async function readIfExists(url: URL): Promise<string | null> {
  try {
    return await Deno.readTextFile(url);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

export function createTemplateRenderer(dir: URL = TEMPLATES_DIR): TemplateRenderer {
  const htmlEngine = new Liquid({ outputEscape: "escape", ownPropertyOnly: true, strictFilters: true });
  const textEngine = new Liquid({ ownPropertyOnly: true, strictFilters: true });
  // Parsed once per (language, kind); a language without the kind caches null.
  const cache = new Map<string, Promise<TemplateSet | null>>();

  function load(language: string, kind: string): Promise<TemplateSet | null> {
    const key = `${language}/${kind}`;
    let entry = cache.get(key);
    if (!entry) {
      entry = (async () => {
        const [subject, text, html] = await Promise.all(
          [".subject.txt", ".txt", ".html"].map((ext) => readIfExists(new URL(`${key}${ext}`, dir))),
        );
        if (subject === null || text === null || html === null) return null;
        return {
          subject: textEngine.parse(subject),
          text: textEngine.parse(text),
          html: htmlEngine.parse(html),
        };
      })();
      entry.catch(() => cache.delete(key));
      cache.set(key, entry);
    }
    return entry;
  }

  return async (kind, language, view) => {
    if (!SAFE_NAME.test(kind)) throw new MissingTemplateError(kind);
    const wanted = language.toLowerCase();
    const own = SAFE_NAME.test(wanted) ? await load(wanted, kind) : null;
    const set = own ?? await load(FALLBACK_LANGUAGE, kind);
    if (!set) throw new MissingTemplateError(kind);
    const [subject, text, html] = await Promise.all([
      textEngine.render(set.subject, view),
      textEngine.render(set.text, view),
      htmlEngine.render(set.html, view),
    ]);
    return {
      subject: subject.replace(/\s+/g, " ").trim(),
      text,
      html,
      language: own ? wanted : FALLBACK_LANGUAGE,
    };
  };
}
