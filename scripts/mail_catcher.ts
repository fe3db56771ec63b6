/**
 * A local mail catcher: a real SMTP server (npm:smtp-server) on loopback that
 * keeps every message it accepts in memory, and a web page listing them, the
 * way Supabase's local stack shows the emails it sends.
 *
 *   http://127.0.0.1:54324/                 the caught messages, newest first
 *   http://127.0.0.1:54324/messages/<id>    one message: headers, text and HTML
 *   http://127.0.0.1:54324/api/messages     the same as JSON (DELETE empties the list)
 *   http://127.0.0.1:54324/preview          every kind of email in every language (scripts/email_preview.ts)
 *
 * `deno task start` runs it when no SMTP_URL is configured; the tests run it
 * as their SMTP server, with the hooks below to refuse mail on purpose. On its
 * own, `deno run -A scripts/mail_catcher.ts [--smtp-port N] [--http-port N]`
 * (0 picks a free port; the URLs are printed).
 */
import { Hono } from "hono";
import { html, raw } from "hono/html";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import PostalMime, { type Address, type Email } from "postal-mime";
import { SMTPServer } from "smtp-server";
import { LOCAL_MAIL_CATCHER_PORT, LOCAL_SMTP_PORT } from "../supabase/functions/_shared/email/config.ts";
import { emailPreviewApp } from "./email_preview.ts";

export interface CaughtMessage {
  /** 1, 2, 3... in order of arrival. */
  id: number;
  receivedAt: Date;
  envelope: { from: string; to: string[] };
  /** The message exactly as received. */
  raw: string;
  parsed: Email;
}

/** An SMTP reply that refuses what the client sent, e.g. `{ code: 451, message: "Try again later" }`. */
export interface SmtpRefusal {
  code: number;
  message: string;
}

export interface MailCatcherOptions {
  hostname?: string;
  /** 0 (the default) picks a free port. */
  smtpPort?: number;
  /** Port of the web page; null (the default) serves none. */
  httpPort?: number | null;
  /** Decides the sender (MAIL FROM): a refusal rejects it; otherwise it is accepted once this resolves. */
  onSender?: (address: string) => Promise<SmtpRefusal | void> | SmtpRefusal | void;
  /** Decides each recipient (RCPT TO): a refusal rejects that address; otherwise as onSender. */
  onRecipient?: (address: string) => Promise<SmtpRefusal | void> | SmtpRefusal | void;
  /**
   * Decides each complete message before it is answered: a refusal rejects
   * it (and it is not kept); otherwise the server replies 250 once this
   * resolves. Called in arrival order, but not one at a time.
   */
  onMessage?: (message: CaughtMessage) => Promise<SmtpRefusal | void> | SmtpRefusal | void;
}

export interface MailCatcher {
  /** e.g. smtp://127.0.0.1:54325 */
  smtpUrl: string;
  /** e.g. http://127.0.0.1:54324, or null without a web page. */
  webUrl: string | null;
  /** Accepted messages, oldest first. */
  messages(): CaughtMessage[];
  /** SMTP clients connected now. */
  connections(): number;
  /** Resolves with the first accepted message (already caught or still to come) that matches. */
  waitFor(match: (message: CaughtMessage) => boolean, timeoutMs?: number): Promise<CaughtMessage>;
  clear(): void;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Caught messages kept in memory; the oldest go first. */
const KEEP = 10_000;

function refusal(reply: SmtpRefusal): Error {
  return Object.assign(new Error(reply.message), { responseCode: reply.code });
}

function addressList(addresses: Address[] | undefined): string {
  return (addresses ?? []).map((a) => ("address" in a && a.address) ? a.address : a.name).join(", ");
}

function summary(message: CaughtMessage) {
  return {
    id: message.id,
    received_at: message.receivedAt.toISOString(),
    envelope: message.envelope,
    from: message.parsed.from,
    to: message.parsed.to ?? [],
    reply_to: message.parsed.replyTo ?? [],
    subject: message.parsed.subject ?? "",
    message_id: message.parsed.messageId ?? null,
  };
}

const PAGE_STYLE = raw(`<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; color: #1f2933; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
  pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f5f7fa; padding: 1rem; }
  td { overflow-wrap: anywhere; }
  iframe { width: 100%; height: 40rem; border: 1px solid #e4e7eb; }
  .muted { color: #7b8794; }
</style>`);

function webApp(catcher: { messages(): CaughtMessage[]; clear(): void }, smtpUrl: string): Hono {
  const app = new Hono();
  const find = (id: string) => catcher.messages().find((m) => m.id === Number(id));

  app.get("/", (c) => {
    const rows = catcher.messages().slice().reverse().map((m) =>
      html`
        <tr>
          <td><a href="/messages/${m.id}">${m.parsed.subject || "(no subject)"}</a></td>
          <td>${addressList(m.parsed.to)}</td>
          <td>${m.parsed.from ? addressList([m.parsed.from]) : m.envelope.from}</td>
          <td class="muted">${m.receivedAt.toISOString()}</td>
        </tr>
      `
    );
    return c.html(html`
      <!doctype html>
      <html>
        <head><meta charset="utf-8"><title>Mail catcher</title>
            ${PAGE_STYLE}</head>
        <body>
            <h1>Caught emails</h1>
            <p class="muted">Everything sent to ${smtpUrl} lands here; nothing leaves this machine.
              <a href="/api/messages">JSON</a> · <a href="/preview">Every email in every language</a></p>
            ${rows.length === 0 ? html`<p>No emails yet.</p>` : html`
              <table>
                <thead>
                  <tr>
                    <th>Subject</th>
                    <th>To</th>
                    <th>From</th>
                    <th>Received</th>
                  </tr>
                </thead>
                <tbody>${rows}</tbody>
              </table>
            `}
          </body>
      </html>
    `);
  });

  app.get("/messages/:id", (c) => {
    const m = find(c.req.param("id"));
    if (!m) return c.text("No such message", 404);
    const headers = m.parsed.headers.map((h) =>
      html`
        <tr>
          <th>${h.key}</th>
          <td>${h.value}</td>
        </tr>
      `
    );
    return c.html(html`
      <!doctype html>
      <html>
        <head><meta charset="utf-8"><title>${m.parsed.subject}</title>
            ${PAGE_STYLE}</head>
        <body>
            <p><a href="/">All emails</a> · <a href="/api/messages/${m.id}/raw">Source</a></p>
            <h1>${m.parsed.subject || "(no subject)"}</h1>
            <table>${headers}</table>
            <h2>HTML</h2>
            ${m.parsed.html
              // A sandbox with no permissions: the message's markup cannot run scripts or reach this page.
              ? html`<iframe sandbox srcdoc="${m.parsed.html}"></iframe>`
              : html`<p class="muted">No HTML part.</p>`}
            <h2>Text</h2>
            <pre>${m.parsed.text ?? ""}</pre>
          </body>
      </html>
    `);
  });

  app.route("/preview", emailPreviewApp());
  app.get("/api/messages", (c) => c.json(catcher.messages().map(summary)));
  app.delete("/api/messages", (c) => {
    catcher.clear();
    return c.body(null, 204);
  });
  app.get("/api/messages/:id", (c) => {
    const m = find(c.req.param("id"));
    if (!m) return c.json({ error: "Not found" }, 404);
    return c.json({ ...summary(m), headers: m.parsed.headers, text: m.parsed.text, html: m.parsed.html });
  });
  app.get("/api/messages/:id/raw", (c) => {
    const m = find(c.req.param("id"));
    return m ? c.text(m.raw) : c.text("No such message", 404);
  });
  return app;
}

export async function startMailCatcher(options: MailCatcherOptions = {}): Promise<MailCatcher> {
  const hostname = options.hostname ?? "127.0.0.1";
  let messages: CaughtMessage[] = [];
  let nextId = 1;
  let waiters: { match: (m: CaughtMessage) => boolean; resolve: (m: CaughtMessage) => void }[] = [];

  const server = new SMTPServer({
    // Loopback only and nothing is relayed: accept any sender, any credentials, no TLS.
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    hideSTARTTLS: true,
    onAuth: (_auth, _session, callback) => callback(null, { user: "local" }),
    size: 25 * 1024 * 1024,
    logger: false,
    onMailFrom(address, _session, callback) {
      Promise.resolve(options.onSender?.(address.address)).then(
        (refused) => callback(refused ? refusal(refused) : null),
        callback,
      );
    },
    onRcptTo(address, _session, callback) {
      Promise.resolve(options.onRecipient?.(address.address)).then(
        (refused) => callback(refused ? refusal(refused) : null),
        callback,
      );
    },
    onData(stream, session, callback) {
      const chunks: Uint8Array[] = [];
      stream.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      stream.on("end", async () => {
        try {
          const bytes = Buffer.concat(chunks);
          const message: CaughtMessage = {
            id: nextId++,
            receivedAt: new Date(),
            envelope: {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
              to: session.envelope.rcptTo.map((r) => r.address),
            },
            raw: bytes.toString("utf8"),
            parsed: await PostalMime.parse(bytes),
          };
          const refused = await options.onMessage?.(message);
          if (refused) return callback(refusal(refused));
          messages.push(message);
          if (messages.length > KEEP) messages = messages.slice(-KEEP);
          waiters = waiters.filter((w) => {
            if (!w.match(message)) return true;
            w.resolve(message);
            return false;
          });
          callback(null);
        } catch (err) {
          callback(refusal({ code: 451, message: `Mail catcher failed: ${(err as Error).message}` }));
        }
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.smtpPort ?? 0, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const smtpPort = (server.server.address() as AddressInfo).port;
  const urlHost = hostname.includes(":") ? `[${hostname}]` : hostname;
  const smtpUrl = `smtp://${urlHost}:${smtpPort}`;

  const catcher = {
    messages: () => messages,
    clear: () => {
      messages = [];
    },
  };
  let web: Deno.HttpServer | null = null;
  if (options.httpPort !== undefined && options.httpPort !== null) {
    try {
      web = Deno.serve(
        { hostname, port: options.httpPort, onListen: () => {} },
        webApp(catcher, smtpUrl).fetch,
      );
    } catch (err) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw err;
    }
  }
  const webUrl = web ? `http://${urlHost}:${(web.addr as Deno.NetAddr).port}` : null;

  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      await Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        web?.shutdown(),
      ]);
    })();

  return {
    smtpUrl,
    webUrl,
    ...catcher,
    connections: () => server.connections.size,
    waitFor(match, timeoutMs = 10_000) {
      const found = messages.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (m: CaughtMessage) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(new Error(`No matching email within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "smtp-port": { type: "string", default: String(LOCAL_SMTP_PORT) },
      "http-port": { type: "string", default: String(LOCAL_MAIL_CATCHER_PORT) },
    },
  });
  const catcher = await startMailCatcher({
    smtpPort: Number(values["smtp-port"]),
    httpPort: Number(values["http-port"]),
  });
  console.log(`Mail catcher: SMTP ${catcher.smtpUrl}, page ${catcher.webUrl}`);
  const stop = () => catcher.close().then(() => Deno.exit(0));
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
