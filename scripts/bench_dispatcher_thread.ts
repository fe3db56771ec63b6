/**
 * One dispatcher of the dispatcher benches (scripts/bench_email.ts, scripts/bench_webhooks.ts) in a thread
 * of its own, as a dispatcher process of its own would run: its own database pool, connections and
 * JavaScript thread (scripts/bench_threads.ts starts it). Told its DispatcherThreadSetup, it connects and
 * answers "ready"; told "go", it dispatches until nothing is due and answers with its summary.
 */
import postgres from "postgres";
import { loadConfig, LOCAL_ENV } from "../supabase/functions/_shared/config.ts";
import { createDispatcher } from "../supabase/functions/_shared/email/dispatcher.ts";
import { createSmtpTransport } from "../supabase/functions/_shared/email/transport.ts";
import type { Dispatcher } from "../supabase/functions/_shared/jobs/queue.ts";
import { createWebhookDispatcher } from "../supabase/functions/_shared/webhooks/dispatcher.ts";
import type { DispatcherThreadSetup } from "./bench_threads.ts";

const scope = self as unknown as Worker;
let run: (() => Promise<void>) | null = null;

scope.onmessage = async (event: MessageEvent<DispatcherThreadSetup | "go">) => {
  if (event.data === "go") return await run?.();
  const setup = event.data;
  const config = loadConfig({
    ...LOCAL_ENV,
    DATABASE_URL: setup.databaseUrl,
    EMAIL_FROM_ADDRESS: "no-reply@bench.example",
  });
  const sql = postgres(setup.databaseUrl, { max: 2, onnotice: () => {} });
  let dispatcher: Dispatcher;
  let close = () => {};
  if (setup.channel === "email") {
    const email = { ...config.email, smtpUrl: setup.smtpUrl ?? config.email.smtpUrl };
    const transport = createSmtpTransport(email);
    dispatcher = createDispatcher({ sql, config: { ...config, email }, transport });
    close = () => transport.close();
  } else {
    dispatcher = createWebhookDispatcher({ sql, config });
  }
  await sql`select 1`;
  run = async () => {
    const summary = await dispatcher.dispatch();
    close();
    await sql.end({ timeout: 5 });
    scope.postMessage(summary);
  };
  scope.postMessage("ready");
};
