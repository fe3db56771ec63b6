-- Webhook events and their delivery (docs/webhooks.md):
--
-- 1. Events. Statement-level triggers with transition tables write each
--    event in the transaction of the change that causes it:
--    registration.created, .started, .completed and .cancelled
--    (profile_interviews), email.delivered and email.failed (email_outbox),
--    invitation.accepted (merchant_invitations). Each trigger first asks one
--    question, whether any merchant in the statement has an enabled endpoint,
--    and stops there when none has: a merchant without webhooks pays one
--    index probe per statement and no query per row (PostgreSQL still keeps
--    the statement's changed rows in the transition table the trigger
--    reads). An event is written only
--    when an endpoint wants it, with one delivery per such endpoint
--    (app.queue_webhook_events).
-- 2. Delivery: app.claim_webhook_deliveries, app.check_webhook_deliveries,
--    app.record_webhook_attempts and app.release_webhook_deliveries, the
--    queue functions of the one dispatcher loop (_shared/jobs/) that the
--    email outbox's app.claim_emails & co. also serve. An endpoint failing
--    longer than the dispatcher's limit is disabled in the record of the
--    failed attempt, and its merchant's owners are emailed (a new email kind,
--    webhook_endpoint_disabled).

alter type public.email_kind add value 'webhook_endpoint_disabled';

-- 1. Events -----------------------------------------------------------------

create function app.queue_webhook_events(p_merchant_ids uuid[], p_types text[], p_data jsonb[])
returns integer
language sql volatile
set search_path = ''
as $$
  with wanted as (
    select gen_random_uuid() as id, e.merchant_id, e.type, e.data
    from unnest(p_merchant_ids, p_types, p_data) as e (merchant_id, type, data)
    where exists (
      select 1 from public.webhook_endpoints w
      where w.merchant_id = e.merchant_id and w.enabled and e.type = any (w.event_types)
    )
  ),
  events as (
    insert into public.webhook_events (id, merchant_id, type, payload)
    select id, merchant_id, type, data from wanted
    returning id, merchant_id, type
  ),
  deliveries as (
    insert into public.webhook_deliveries (event_id, endpoint_id)
    select ev.id, w.id
    from events ev
    join public.webhook_endpoints w
      on w.merchant_id = ev.merchant_id and w.enabled and ev.type = any (w.event_types)
    returning 1
  )
  select count(*)::integer from deliveries;
$$;

comment on function app.queue_webhook_events(uuid[], text[], jsonb[]) is $$
Writes events (merchant, type, data: the arrays are zipped) and fans each
out into one pending delivery per enabled endpoint of its merchant that
subscribes to its type. An event no endpoint wants is not written at all.
Runs inside the transaction of the change the events announce, so a
rollback takes them with it. Returns the number of deliveries queued.
$$;
revoke execute on function app.queue_webhook_events(uuid[], text[], jsonb[]) from public;

create function app.webhook_registration_data(p_ids uuid[])
returns table (id uuid, merchant_id uuid, data jsonb)
language sql stable
set search_path = ''
as $$
  select pi.id, pi.merchant_id, jsonb_build_object(
    'merchant_id', pi.merchant_id,
    'profile_interview_id', pi.id,
    'profile_id', p.id,
    'email', p.email,
    'name', p.name,
    'external_id', p.external_id,
    'interview_id', pi.interview_id,
    'interview_name', i.name,
    'position_id', pi.position_id,
    'position_name', pos.name,
    'job_application_id', pi.job_application_id,
    'is_test', pi.is_test,
    'status', pi.status,
    'created_at', pi.created_at,
    'started_at', pi.started_at,
    'completed_at', pi.completed_at,
    'cancelled_at', pi.cancelled_at
  )
  from public.profile_interviews pi
  join public.candidate_profiles p on p.id = pi.profile_id
  join public.interviews i on i.id = pi.interview_id
  left join public.positions pos on pos.id = pi.position_id
  where pi.id = any (p_ids);
$$;

comment on function app.webhook_registration_data(uuid[]) is $$
The registrations as webhook events carry them (docs/webhooks.md): what an
ATS needs to match an event without a second call (candidate, email,
external_id, job_application_id, interview and position, test flag) and
the registration's status and times as they are now.
$$;
revoke execute on function app.webhook_registration_data(uuid[]) from public;

create function app.webhook_registrations_created() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not exists (
    select 1 from created c join public.webhook_endpoints w on w.merchant_id = c.merchant_id where w.enabled
  ) then
    return null;
  end if;
  perform app.queue_webhook_events(
    array_agg(r.merchant_id), array_fill('registration.created'::text, array[count(*)::integer]),
    array_agg(r.data)
  )
  from app.webhook_registration_data(array(select c.id from created c)) r;
  return null;
end;
$$;

comment on function app.webhook_registrations_created() is $$
AFTER INSERT statement trigger of public.profile_interviews: a
registration.created event per new registration, for merchants with an
enabled endpoint (one probe of their endpoints otherwise).
$$;
revoke execute on function app.webhook_registrations_created() from public;

create trigger profile_interviews_webhook_created
  after insert on public.profile_interviews
  referencing new table as created
  for each statement execute function app.webhook_registrations_created();

create function app.webhook_registrations_changed() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_queued integer;
begin
  if not exists (
    select 1 from changed c join public.webhook_endpoints w on w.merchant_id = c.merchant_id where w.enabled
  ) then
    return null;
  end if;
  with moved as (
    select c.id, 'registration.' || c.status::text as type
    from changed c join before_change b on b.id = c.id
    where c.status is distinct from b.status and c.status in ('started', 'completed', 'cancelled')
  )
  select app.queue_webhook_events(array_agg(r.merchant_id), array_agg(m.type), array_agg(r.data))
  into v_queued
  from moved m join app.webhook_registration_data(array(select id from moved)) r on r.id = m.id
  having count(*) > 0;
  return null;
end;
$$;

comment on function app.webhook_registrations_changed() is $$
AFTER UPDATE statement trigger of public.profile_interviews: an event per
registration whose status moved, registration.started (its link was
redeemed), registration.completed or registration.cancelled, for merchants
with an enabled endpoint.
$$;
revoke execute on function app.webhook_registrations_changed() from public;

create trigger profile_interviews_webhook_changed
  after update on public.profile_interviews
  referencing old table as before_change new table as changed
  for each statement execute function app.webhook_registrations_changed();

create function app.webhook_emails_settled() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_queued integer;
begin
  if not exists (
    select 1 from settled s join public.webhook_endpoints w on w.merchant_id = s.merchant_id
    where w.enabled and s.status in ('sent', 'failed')
  ) then
    return null;
  end if;
  with moved as (
    select s.*
    from settled s join before_settled b on b.id = s.id
    where s.status is distinct from b.status and s.status in ('sent', 'failed')
      and s.kind::text <> 'webhook_endpoint_disabled'
  )
  select app.queue_webhook_events(
    array_agg(m.merchant_id),
    array_agg(case when m.status = 'sent' then 'email.delivered' else 'email.failed' end),
    array_agg(
      coalesce(r.data, jsonb_build_object('merchant_id', m.merchant_id, 'email', m.to_email))
      || jsonb_build_object(
        'email_id', m.id,
        'email_kind', m.kind,
        'to_email', m.to_email,
        'invitation_id', m.invitation_id,
        'attempts', m.attempts,
        'sent_at', m.sent_at,
        'failed_at', m.failed_at,
        'reason', case when m.status = 'failed' then m.last_error end
      )
    )
  )
  into v_queued
  from moved m
  left join app.webhook_registration_data(
    array(select profile_interview_id from moved where profile_interview_id is not null)
  ) r on r.id = m.profile_interview_id
  having count(*) > 0;
  return null;
end;
$$;

comment on function app.webhook_emails_settled() is $$
AFTER UPDATE statement trigger of public.email_outbox: email.delivered when
a message became 'sent' (the recipient's SMTP server accepted it),
email.failed when it became 'failed' for good, with the reason. A
registration's email carries the registration's fields too. The owner
notice of a disabled endpoint announces nothing.
$$;
revoke execute on function app.webhook_emails_settled() from public;

create trigger email_outbox_webhook_settled
  after update on public.email_outbox
  referencing old table as before_settled new table as settled
  for each statement execute function app.webhook_emails_settled();

create function app.webhook_invitations_accepted() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_queued integer;
begin
  if not exists (
    select 1 from accepted a join public.webhook_endpoints w on w.merchant_id = a.merchant_id
    where w.enabled and a.accepted_at is not null
  ) then
    return null;
  end if;
  select app.queue_webhook_events(
    array_agg(a.merchant_id),
    array_fill('invitation.accepted'::text, array[count(*)::integer]),
    array_agg(jsonb_build_object(
      'merchant_id', a.merchant_id,
      'invitation_id', a.id,
      'email', a.email,
      'name', a.name,
      'role', a.role,
      'account_id', a.accepted_by,
      'created_at', a.created_at,
      'accepted_at', a.accepted_at
    ))
  )
  into v_queued
  from accepted a join before_accepted b on b.id = a.id
  where a.accepted_at is not null and b.accepted_at is null
  having count(*) > 0;
  return null;
end;
$$;

comment on function app.webhook_invitations_accepted() is $$
AFTER UPDATE statement trigger of public.merchant_invitations: an
invitation.accepted event when a team or coaching invitation is accepted.
$$;
revoke execute on function app.webhook_invitations_accepted() from public;

create trigger merchant_invitations_webhook_accepted
  after update on public.merchant_invitations
  referencing old table as before_accepted new table as accepted
  for each statement execute function app.webhook_invitations_accepted();

create function app.notify_webhook_deliveries() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform pg_notify('webhook_deliveries', '');
  return null;
end;
$$;

comment on function app.notify_webhook_deliveries() is $$
Wakes long-running webhook dispatchers (LISTEN webhook_deliveries) once
queued deliveries are committed. A statement trigger on the deliveries
themselves: it fires only where an endpoint wants the event, never on a
registration of a merchant without webhooks.
$$;
revoke execute on function app.notify_webhook_deliveries() from public;

create trigger webhook_deliveries_notify
  after insert on public.webhook_deliveries
  for each statement execute function app.notify_webhook_deliveries();

-- 2. Delivery ---------------------------------------------------------------

create function app.claim_webhook_deliveries(p_limit integer, p_lease_seconds integer, p_max_attempts integer)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_claim_id uuid := gen_random_uuid();
  v_ids uuid[];
  v_result jsonb;
begin
  select coalesce(array_agg(id), '{}') into v_ids from (
    select d.id from public.webhook_deliveries d
    where d.status = 'sending' and d.lease_expires_at <= now()
    order by d.lease_expires_at
    limit p_limit
    for update skip locked
  ) abandoned;

  select v_ids || coalesce(array_agg(id), '{}') into v_ids from (
    select d.id from public.webhook_deliveries d
    where d.status = 'pending' and d.send_after <= now()
    order by d.send_after
    limit p_limit - cardinality(v_ids)
    for update skip locked
  ) due;

  with exhausted as (
    update public.webhook_deliveries d
    set status = 'failed', failed_at = now(), claim_id = null, lease_expires_at = null,
        last_error = 'Lease expired during the last attempt: the dispatcher stopped mid-send'
    where d.id = any (v_ids) and d.status = 'sending' and d.attempts >= p_max_attempts
    returning d.id
  ),
  claimed as (
    update public.webhook_deliveries d
    set status = 'sending', claim_id = v_claim_id,
        lease_expires_at = now() + make_interval(secs => p_lease_seconds),
        attempts = d.attempts + 1
    where d.id = any (v_ids) and not (d.status = 'sending' and d.attempts >= p_max_attempts)
    returning d.id, d.attempts, d.event_id, d.endpoint_id, d.send_after
  )
  select jsonb_build_object(
    'claim_id', v_claim_id,
    'failed', (select count(*) from exhausted),
    'deliveries', coalesce((
      select jsonb_agg(jsonb_build_object(
        'id', c.id,
        'attempts', c.attempts,
        'endpoint_id', c.endpoint_id,
        'event_id', ev.id,
        'type', ev.type,
        'created_at', ev.created_at,
        'data', jsonb_build_object('event_id', ev.id) || ev.payload
      ) order by c.send_after, ev.created_at, c.id)
      from claimed c join public.webhook_events ev on ev.id = c.event_id
    ), '[]'::jsonb)
  ) into v_result;
  return v_result;
end;
$$;

comment on function app.claim_webhook_deliveries(integer, integer, integer) is $$
Claims up to p_limit due webhook deliveries for one dispatcher, as
app.claim_emails claims messages: pending ones whose send_after has come,
and 'sending' ones whose lease ran out (their dispatcher died mid-attempt;
marked failed instead when that was their last attempt). Rows other
claimers hold are skipped, so any number of dispatchers claim at once and
each row goes to one. A replayed delivery (pending again with attempts 0)
has its whole attempt budget again.

Returns {claim_id, failed, deliveries: [{id, attempts, endpoint_id,
event_id, type, created_at, data}]}, data being the event's payload with
its event_id. Where the delivery goes (URL, secrets) is read by
app.check_webhook_deliveries right before it is sent.
$$;
revoke execute on function app.claim_webhook_deliveries(integer, integer, integer) from public;

create function app.check_webhook_deliveries(p_ids uuid[], p_claim_id uuid)
returns table (id uuid, url text, secrets text[])
language plpgsql
set search_path = ''
as $$
begin
  update public.webhook_deliveries d
  set status = 'failed', failed_at = now(), claim_id = null, lease_expires_at = null,
      attempts = d.attempts - 1, last_error = 'Not sent: the endpoint is disabled'
  from public.webhook_endpoints e
  where d.id = any (p_ids) and d.claim_id = p_claim_id and d.status = 'sending'
    and e.id = d.endpoint_id and not e.enabled;

  return query
  select d.id, e.url,
    array_remove(array[e.secret, case when e.previous_secret_expires_at > now() then e.previous_secret end], null)
  from public.webhook_deliveries d
  join public.webhook_endpoints e on e.id = d.endpoint_id
  where d.id = any (p_ids) and d.claim_id = p_claim_id and d.status = 'sending';
end;
$$;

comment on function app.check_webhook_deliveries(uuid[], uuid) is $$
Right before a slot of claimed deliveries is sent: where each goes now (its
endpoint's URL) and the secrets to sign it with (the current one, and the
previous one while its grace period after a rotation lasts). A delivery
whose endpoint was disabled since it was queued is not sent: it is marked
failed ('Not sent: the endpoint is disabled'), the attempt not counted, and
a replay can send it later. Rows the claim no longer holds are left out.
$$;
revoke execute on function app.check_webhook_deliveries(uuid[], uuid) from public;

create function app.record_webhook_attempts(p_claim_id uuid, p_outcomes jsonb, p_disable_after_seconds integer)
returns table (id uuid, status public.webhook_delivery_status)
language plpgsql
set search_path = ''
as $$
declare
  v_ids uuid[];
  v_statuses public.webhook_delivery_status[];
  v_endpoints uuid[];
  v_oks boolean[];
  v_errors text[];
begin
  with outcome as (
    select o.*
    from jsonb_to_recordset(p_outcomes) as o (
      id uuid, ok boolean, response_status integer, response_body text, error text,
      retry_after_seconds double precision
    )
  ),
  recorded as (
    update public.webhook_deliveries d set
      status = case
        when o.ok then 'delivered'
        when o.retry_after_seconds is null then 'failed'
        else 'pending'
      end::public.webhook_delivery_status,
      send_after = case
        when not o.ok and o.retry_after_seconds is not null
          then now() + make_interval(secs => o.retry_after_seconds)
        else d.send_after
      end,
      delivered_at = case when o.ok then now() end,
      failed_at = case when not o.ok and o.retry_after_seconds is null then now() end,
      last_attempt_at = now(),
      last_response_status = o.response_status,
      last_response_body = left(o.response_body, 1024),
      last_error = case when o.ok then null else left(o.error, 2000) end,
      claim_id = null,
      lease_expires_at = null
    from outcome o
    where d.id = o.id and d.claim_id = p_claim_id and d.status = 'sending'
    returning d.id, d.status, d.endpoint_id, o.ok, o.error
  )
  select array_agg(r.id), array_agg(r.status), array_agg(r.endpoint_id), array_agg(r.ok), array_agg(r.error)
  into v_ids, v_statuses, v_endpoints, v_oks, v_errors
  from recorded r;
  if v_ids is null then
    return;
  end if;

  -- A success ends the endpoint's failing streak; a failure starts one unless one runs. Only rows that
  -- change are written (none while an endpoint is healthy), locked in id order so that two dispatchers
  -- recording for the same endpoints cannot deadlock.
  with health as (
    select h.endpoint_id, bool_or(h.ok) as any_ok
    from unnest(v_endpoints, v_oks) as h (endpoint_id, ok)
    group by h.endpoint_id
  ),
  locked as (
    select e.id, h.any_ok from public.webhook_endpoints e join health h on h.endpoint_id = e.id
    where case when h.any_ok then e.failing_since is not null else e.failing_since is null end
    order by e.id
    for no key update of e
  )
  update public.webhook_endpoints e
  set failing_since = case when l.any_ok then null else now() end, updated_at = now()
  from locked l
  where e.id = l.id;

  -- Failing for longer than the limit, and failing again now: disabled, and its merchant's owners told.
  with failed as (
    select f.endpoint_id, min(f.error) as error
    from unnest(v_endpoints, v_oks, v_errors) as f (endpoint_id, ok, error)
    where not f.ok
    group by f.endpoint_id
  ),
  disabled as (
    update public.webhook_endpoints e
    set enabled = false, updated_at = now(),
        disabled_reason = left(format(
          'Disabled automatically: every delivery failed since %s (last error: %s)',
          to_char(e.failing_since at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), f.error
        ), 1000)
    from failed f
    where e.id = f.endpoint_id and e.enabled
      and e.failing_since <= now() - make_interval(secs => p_disable_after_seconds)
    returning e.*
  )
  insert into public.email_outbox (merchant_id, kind, to_email, to_name, language, payload)
  select d.merchant_id, 'webhook_endpoint_disabled', a.email, a.full_name, 'en',
    jsonb_build_object(
      'merchant_name', m.name,
      'endpoint_id', d.id,
      'endpoint_url', d.url,
      'endpoint_description', d.description,
      'failing_since', to_char(d.failing_since at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
      'disabled_reason', d.disabled_reason
    )
  from disabled d
  join public.merchants m on m.id = d.merchant_id
  join public.merchant_members mm on mm.merchant_id = d.merchant_id and mm.role = 'merchant_owner'
  join public.accounts a on a.id = mm.account_id;

  return query select r.id, r.status from unnest(v_ids, v_statuses) as r (id, status);
end;
$$;

comment on function app.record_webhook_attempts(uuid, jsonb, integer) is $$
Records the outcomes of attempts a claim made, in one statement however
many: p_outcomes is [{id, ok, response_status, response_body, error,
retry_after_seconds}]. ok: delivered. Not ok: pending again, due in
retry_after_seconds, or failed for good when that is null. The receiver's
status and the start of its body (1,024 characters) are kept either way.
Rows the claim no longer holds are left alone (and left out of the result).

Each endpoint's failing streak follows: a delivered attempt ends it
(failing_since null), a failed one starts it if none runs. An endpoint that
fails again when its streak is older than p_disable_after_seconds is
disabled, with the reason, and each owner of its merchant is queued a
webhook_endpoint_disabled email. Returns each recorded delivery's status.
$$;
revoke execute on function app.record_webhook_attempts(uuid, jsonb, integer) from public;

create function app.release_webhook_deliveries(p_ids uuid[], p_claim_id uuid)
returns integer
language sql
set search_path = ''
as $$
  with released as (
    update public.webhook_deliveries
    set status = 'pending', attempts = attempts - 1, claim_id = null, lease_expires_at = null
    where id = any (p_ids) and claim_id = p_claim_id and status = 'sending'
    returning 1
  )
  select count(*)::integer from released;
$$;

comment on function app.release_webhook_deliveries(uuid[], uuid) is $$
Hands claimed deliveries back unsent (a dispatcher stopping, or too little
lease left to send them safely): due again at once, the attempt not counted.
$$;
revoke execute on function app.release_webhook_deliveries(uuid[], uuid) from public;
