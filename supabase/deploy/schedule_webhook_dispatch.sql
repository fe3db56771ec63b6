-- Schedules the webhook-dispatch function on hosted Supabase (docs/webhooks.md, "Running the
-- dispatcher"), as schedule_email_dispatch.sql does email-dispatch: pg_cron runs a job every 10 seconds
-- that POSTs to the function with pg_net, reading the project's URL and its service key from Vault, so
-- no secret is written into the job. Run it once, in the SQL editor or with psql, after deploying the
-- functions and storing the two secrets (the same ones the email schedule reads):
--
--   select vault.create_secret('https://<project-ref>.supabase.co', 'jobmojito_project_url');
--   select vault.create_secret('sb_secret_...', 'jobmojito_service_key');
--
-- Running it again replaces the jobs (pg_cron keys them by name). To stop delivering:
--   select cron.unschedule('jobmojito-webhook-dispatch');
--
-- Overlapping invocations are safe (each delivery goes to one of them); one ends when nothing is due, or
-- after WEBHOOK_DISPATCH_BUDGET_SECONDS. An event is sent within about 10 seconds of its change.

create extension if not exists pg_cron;
create extension if not exists pg_net;

do $$
begin
  if (select count(*) from vault.decrypted_secrets
      where name in ('jobmojito_project_url', 'jobmojito_service_key')) <> 2 then
    raise exception 'Store the Vault secrets jobmojito_project_url and jobmojito_service_key first (see the top of this file)';
  end if;
end
$$;

select cron.schedule(
  'jobmojito-webhook-dispatch',
  '10 seconds',
  $job$
  select net.http_post(
    url := (select decrypted_secret from vault.decrypted_secrets where name = 'jobmojito_project_url')
      || '/functions/v1/webhook-dispatch',
    headers := jsonb_build_object(
      'Authorization', 'Bearer ' || (select decrypted_secret from vault.decrypted_secrets
                                     where name = 'jobmojito_service_key'),
      'Content-Type', 'application/json'
    ),
    body := '{}'::jsonb,
    timeout_milliseconds := 60000
  )
  $job$
);

-- A job every 10 seconds writes 8,640 rows a day into pg_cron's run history: keep a week of it (the same
-- job as the email schedule's, so either file keeps it).
select cron.schedule(
  'jobmojito-cron-history',
  '17 3 * * *',
  $job$ delete from cron.job_run_details where end_time < now() - interval '7 days' $job$
);
