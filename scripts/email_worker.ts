/**
 * The email dispatcher as a long-running process.
 *
 * `deno task start` runs it in-process beside the functions (startLocalEmail,
 * one of BACKGROUND_WORKERS in start.ts), together with the local mail catcher
 * when no SMTP_URL is configured. Run on its own (`deno task email-worker`),
 * it is a deployment option that needs no scheduler: it sends through
 * SMTP_URL from the database at SUPABASE_DB_URL / DATABASE_URL, and any
 * number of copies may run at once. SIGINT / SIGTERM stop it cleanly.
 */
import { createSmtpTransport } from "../supabase/functions/_shared/email/transport.ts";
import { startEmailWorker } from "../supabase/functions/_shared/email/worker.ts";
import { createRuntime } from "../supabase/functions/_shared/runtime.ts";
import type { BackgroundWorker, BackgroundWorkerContext } from "./background_workers.ts";
import { shutdownSignal } from "./local_db.ts";
import { startMailCatcher } from "./mail_catcher.ts";

/**
 * The dispatcher for `deno task start`. With SMTP_URL unset, it first starts
 * the mail catcher on 127.0.0.1 at `mailPorts` (`deno task start` chooses them:
 * SMTP on 54325, its page on 54324 by default) and delivers there, so whatever
 * the API sends can be read in a browser.
 */
export async function startLocalEmail(
  { runtime, mailPorts }: BackgroundWorkerContext,
): Promise<BackgroundWorker> {
  const settings = runtime.config.email;
  if (settings.smtpConfigured) {
    const worker = await startEmailWorker(runtime);
    return {
      name: `email dispatcher, sending via ${new URL(settings.smtpUrl).host}`,
      stop: () => worker.stop(),
    };
  }
  const catcher = await startMailCatcher({ smtpPort: mailPorts.smtp, httpPort: mailPorts.http });
  const transport = createSmtpTransport({ ...settings, smtpUrl: catcher.smtpUrl });
  const worker = await startEmailWorker(runtime, { transport });
  return {
    name: `email dispatcher; emails are caught at ${catcher.webUrl} (SMTP ${catcher.smtpUrl})`,
    mailUrl: catcher.webUrl ?? undefined,
    async stop() {
      await worker.stop();
      transport.close();
      await catcher.close();
    },
  };
}

if (import.meta.main) {
  const signal = shutdownSignal();
  const runtime = createRuntime();
  const worker = await startEmailWorker(runtime);
  console.log(`Email worker sending via ${new URL(runtime.config.email.smtpUrl).host}; Ctrl-C stops it.`);
  await signal.promise;
  await worker.stop();
  await runtime.sql.end({ timeout: 5 });
  signal.dispose();
}
