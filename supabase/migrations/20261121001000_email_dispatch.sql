-- Delivery of the email outbox: claiming due rows with a lease, checking them
-- again right before they are sent, recording each attempt's outcome, the
-- reminder schedule, operator retries, and the completion report that queues
-- the chain's last message.
--
-- Delivery is at-least-once: a row is claimed (status 'sending', a claim id
-- and a lease) in one short transaction, sent over SMTP outside any
-- transaction, then recorded in another. Only a dispatcher that stops between
-- the SMTP server's acceptance and the record leaves a row to be claimed
-- again once its lease runs out. docs/email.md explains it in full.
--
-- Lock order: a function that changes a registration's outbox rows together
-- with what it knows of the registration locks the registration's row first,
-- as app.register_batch, app.redeem_interview_token and
-- app.complete_registration do (registration, then token, then outbox rows;
-- docs/decisions.md). The others here never wait for a lock a registration
-- function holds, so they cannot close a cycle with one: claiming skips
-- locked rows, and the send-time check, recording a failure and handing back
-- touch only rows in 'sending', which no registration function updates.

alter table public.email_outbox
  -- Which claim owns a row while it is 'sending': outcomes are recorded only
  -- by that claim, so a dispatcher whose lease ran out cannot overwrite the
  -- outcome of the one that took the row over.
  add column claim_id uuid,
  -- When a 'sending' row is deemed abandoned (its dispatcher died) and may be
  -- claimed again.
  add column lease_expires_at timestamptz,
  add constraint email_outbox_claim_check
    check ((status = 'sending') = (claim_id is not null and lease_expires_at is not null));

create index email_outbox_lease_idx on public.email_outbox (lease_expires_at) where status = 'sending';
-- A registration completes once, so it gets one completion notification
-- however many times completion is reported.
create unique index email_outbox_one_completion_idx
  on public.email_outbox (profile_interview_id) where kind = 'completion';

-- Wakes long-running dispatchers (LISTEN email_outbox) as soon as a message is
-- queued; NOTIFY is transactional, so they hear of it once it is committed.
-- Only when a row was queued: a transaction that notifies takes a
-- database-wide lock at commit (to keep notifications in order), and the
-- statement-level trigger also fires for the zero rows a register-users batch
-- of type "url" queues, which would make every registration wait on it.
create function app.notify_email_outbox() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if exists (select 1 from queued) then
    perform pg_notify('email_outbox', '');
  end if;
  return null;
end;
$$;

create trigger email_outbox_notify
  after insert on public.email_outbox
  referencing new table as queued
  for each statement execute function app.notify_email_outbox();

-- Claims up to p_limit due messages for one dispatcher and returns them with
-- everything needed to render them, in one round trip.
--
-- Due means pending with send_after reached, or 'sending' with its lease run
-- out (the dispatcher that claimed it died mid-attempt). Rows other claimers
-- hold are skipped, not waited for, so any number of dispatchers can claim at
-- once and each row goes to exactly one of them. An abandoned row that
-- already had its last attempt is marked failed instead.
--
-- Whether a message is still wanted (its registration open, its link live)
-- is not decided here but by app.check_emails, right before it is sent: a
-- claimed message may wait up to a lease for its turn.
--
-- Returns {claim_id, failed, messages: [{id, kind, attempts, to_email,
-- to_name, language, payload, merchant: {...}}]}, oldest due first.
create function app.claim_emails(p_limit integer, p_lease_seconds integer, p_max_attempts integer)
returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_claim_id uuid := gen_random_uuid();
  v_ids uuid[];
  v_result jsonb;
begin
  select coalesce(array_agg(id), '{}') into v_ids from (
    select o.id from public.email_outbox o
    where o.status = 'sending' and o.lease_expires_at <= now()
    order by o.lease_expires_at
    limit p_limit
    for update skip locked
  ) abandoned;

  select v_ids || coalesce(array_agg(id), '{}') into v_ids from (
    select o.id from public.email_outbox o
    where o.status = 'pending' and o.send_after <= now()
    order by o.send_after
    limit p_limit - cardinality(v_ids)
    for update skip locked
  ) due;

  with exhausted as (
    update public.email_outbox o
    set status = 'failed', claim_id = null, lease_expires_at = null,
        last_error = 'Lease expired during the last attempt: the dispatcher stopped mid-send'
    where o.id = any (v_ids) and o.status = 'sending' and o.attempts >= p_max_attempts
    returning o.id
  ),
  claimed as (
    update public.email_outbox o
    set status = 'sending', claim_id = v_claim_id,
        lease_expires_at = now() + make_interval(secs => p_lease_seconds),
        attempts = o.attempts + 1
    where o.id = any (v_ids) and not (o.status = 'sending' and o.attempts >= p_max_attempts)
    returning o.id, o.kind, o.attempts, o.to_email, o.to_name, o.language, o.payload, o.merchant_id,
      o.send_after
  )
  select jsonb_build_object(
    'claim_id', v_claim_id,
    'failed', (select count(*) from exhausted),
    'messages', coalesce((
      select jsonb_agg(jsonb_build_object(
        'id', c.id,
        'kind', c.kind,
        'attempts', c.attempts,
        'to_email', c.to_email,
        'to_name', c.to_name,
        'language', c.language,
        'payload', c.payload,
        'merchant', jsonb_build_object(
          'name', m.name,
          'email_from_name', m.email_from_name,
          'email_reply_to', m.email_reply_to,
          'interview_base_url', m.interview_base_url
        )
      ) order by c.send_after, c.id)
      from claimed c join public.merchants m on m.id = c.merchant_id
    ), '[]'::jsonb)
  ) into v_result;
  return v_result;
end;
$$;

-- The last look at claimed messages before they are sent: called for each
-- slot of messages a dispatcher is about to send at once, so what is decided
-- here is at most one SMTP send old when the server accepts the message.
--
-- Of p_ids, returns the messages p_claim_id still holds that are still
-- wanted, each with the link it must carry, and the ones it cancels instead
-- (cancelled = true); a message the claim no longer holds is not returned.
-- Invitations and reminders are wanted while their registration is open and
-- has a live interview link (not used, revoked or expired), and a reminder
-- only while the interview has not been started. Their link is the one live
-- now: the claims of the registration's live token, which a registration
-- again since the claim has replaced. A cancelled message's attempt is not
-- counted: it was never tried.
--
-- Reads the registration without locking it: a redemption or a new link
-- that commits after this statement began is the window docs/email.md
-- describes.
create function app.check_emails(p_ids uuid[], p_claim_id uuid)
returns table (id uuid, cancelled boolean, link jsonb)
language sql volatile
set search_path = ''
as $$
  with state as (
    select o.id,
      case
        when o.kind not in ('invitation', 'reminder') then null
        when pi.status is null or pi.status not in ('registered', 'started') then 'Registration is no longer open'
        when o.kind = 'reminder' and pi.status = 'started' then 'The interview was already started'
        when t.jti is null then 'The interview link was already used, revoked or has expired'
      end as reason,
      case when t.jti is not null then jsonb_build_object(
        'jti', t.jti,
        'sub', pi.profile_id,
        'iat', extract(epoch from t.issued_at)::bigint,
        'exp', extract(epoch from t.expires_at)::bigint,
        'profile_interview_id', pi.id,
        'interview_id', pi.interview_id,
        'merchant_id', pi.merchant_id,
        'is_test', pi.is_test,
        'hide_menu', t.hide_menu,
        'hide_iframe', t.hide_iframe
      ) end as link
    from public.email_outbox o
    left join public.profile_interviews pi
      on pi.id = o.profile_interview_id and o.kind in ('invitation', 'reminder')
    left join public.interview_tokens t
      on t.profile_interview_id = pi.id and t.redeemed_at is null and t.revoked_at is null
     and t.expires_at > now()
    where o.id = any (p_ids) and o.claim_id = p_claim_id and o.status = 'sending'
  ),
  cancelled as (
    update public.email_outbox o
    set status = 'cancelled', last_error = s.reason, attempts = o.attempts - 1,
        claim_id = null, lease_expires_at = null
    from state s
    where o.id = s.id and s.reason is not null and o.claim_id = p_claim_id and o.status = 'sending'
    returning o.id
  )
  select s.id, false, s.link from state s where s.reason is null
  union all
  select c.id, true, null from cancelled c;
$$;

-- Records that the SMTP server accepted a claimed message. Returns false when
-- the claim no longer owns the row (its lease ran out and another dispatcher
-- took it over), in which case nothing is changed.
--
-- A sent invitation cancels the still-pending reminders of any earlier
-- invitation of the registration, which it supersedes, and, while the
-- interview has not been started, schedules the chain's reminders
-- p_reminder_offsets seconds after it went out.
create function app.record_email_sent(p_id uuid, p_claim_id uuid, p_reminder_offsets integer[])
returns boolean
language plpgsql volatile
set search_path = ''
as $$
declare
  v_row public.email_outbox%rowtype;
  v_registration public.profile_interviews%rowtype;
begin
  -- An invitation's record changes the registration's other outbox rows, so
  -- the registration's row is locked first (see the top of this file): a
  -- redemption holds it while it cancels the same reminders, and taking them
  -- the other way round deadlocks with it. NO KEY UPDATE serializes with the
  -- registration functions (FOR UPDATE) and with another record of the
  -- registration without holding up foreign-key checks of rows that
  -- reference it. A row's kind and registration never change: the lookup
  -- needs no lock of the outbox row.
  select pi.* into v_registration
  from public.email_outbox o
  join public.profile_interviews pi on pi.id = o.profile_interview_id
  where o.id = p_id and o.kind = 'invitation'
  for no key update of pi;

  update public.email_outbox
  set status = 'sent', sent_at = now(), last_error = null, claim_id = null, lease_expires_at = null
  where id = p_id and claim_id = p_claim_id and status = 'sending'
  returning * into v_row;
  if not found then
    return false;
  end if;

  if v_registration.id is not null then
    update public.email_outbox
    set status = 'cancelled', last_error = 'Superseded by a newer invitation'
    where profile_interview_id = v_registration.id and kind = 'reminder' and status = 'pending';

    insert into public.email_outbox
      (merchant_id, profile_interview_id, kind, to_email, to_name, language, payload, send_after)
    select v_row.merchant_id, v_row.profile_interview_id, 'reminder', v_row.to_email, v_row.to_name,
      v_row.language, v_row.payload || jsonb_build_object('reminder', r.n, 'invitation_id', v_row.id),
      v_row.sent_at + make_interval(secs => r.offset_seconds)
    from unnest(p_reminder_offsets) with ordinality as r (offset_seconds, n)
    where v_registration.status = 'registered';
  end if;
  return true;
end;
$$;

-- Records a failed attempt: back to 'pending', due again in
-- p_retry_after_seconds, or 'failed' for good when that is null. Returns the
-- row's new status, or null when the claim no longer owns the row.
create function app.record_email_failure(
  p_id uuid,
  p_claim_id uuid,
  p_error text,
  p_retry_after_seconds double precision
) returns public.email_status
language sql volatile
set search_path = ''
as $$
  update public.email_outbox
  set status = case when p_retry_after_seconds is null then 'failed' else 'pending' end::public.email_status,
      send_after = case
        when p_retry_after_seconds is null then send_after
        else now() + make_interval(secs => p_retry_after_seconds)
      end,
      last_error = left(p_error, 2000),
      claim_id = null,
      lease_expires_at = null
  where id = p_id and claim_id = p_claim_id and status = 'sending'
  returning status;
$$;

-- Hands claimed messages back untouched (a dispatcher stopping, or too little
-- lease left to send them safely): due again at once, the attempt not counted.
create function app.release_emails(p_ids uuid[], p_claim_id uuid)
returns integer
language sql volatile
set search_path = ''
as $$
  with released as (
    update public.email_outbox
    set status = 'pending', attempts = attempts - 1, claim_id = null, lease_expires_at = null
    where id = any (p_ids) and claim_id = p_claim_id and status = 'sending'
    returning 1
  )
  select count(*)::integer from released;
$$;

-- For operators: gives a failed message a fresh set of attempts, due now.
--   select app.retry_email(id) from public.email_outbox where status = 'failed' and ...;
-- Returns false when the message is not (or no longer) failed.
create function app.retry_email(p_id uuid)
returns boolean
language plpgsql volatile
set search_path = ''
as $$
begin
  update public.email_outbox
  set status = 'pending', attempts = 0, send_after = now()
  where id = p_id and status = 'failed';
  if not found then
    return false;
  end if;
  perform pg_notify('email_outbox', '');
  return true;
end;
$$;

-- The interview app reports that a candidate finished the interview. Marks
-- the registration completed, cancels whatever of its chain is still waiting,
-- and, when the candidate is subscribed to the email chain (an invitation was
-- queued for the registration), queues the completion notification in the
-- same transaction. Idempotent: reporting again changes nothing and queues
-- nothing; concurrent reports serialize on the registration's row.
create function app.complete_registration(p_profile_interview_id uuid)
returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_registration public.profile_interviews%rowtype;
  v_queued integer := 0;
  v_already boolean;
begin
  -- The registration first, then its outbox rows (see the top of this file).
  select * into v_registration from public.profile_interviews where id = p_profile_interview_id for update;
  if not found then
    raise exception 'Registration not found' using errcode = 'JM404', hint = 'profile_interview_id';
  end if;
  if v_registration.status = 'registered' then
    raise exception 'Interview not started: its link was never redeemed' using errcode = 'JM409';
  end if;
  if v_registration.status = 'cancelled' then
    raise exception 'Registration is cancelled' using errcode = 'JM409';
  end if;

  v_already := v_registration.status = 'completed';
  if not v_already then
    update public.profile_interviews
    set status = 'completed', completed_at = now()
    where id = p_profile_interview_id
    returning * into v_registration;

    update public.email_outbox
    set status = 'cancelled', last_error = 'Registration completed'
    where profile_interview_id = p_profile_interview_id
      and kind in ('invitation', 'reminder') and status = 'pending';

    insert into public.email_outbox
      (merchant_id, profile_interview_id, kind, to_email, to_name, language, payload)
    select v_registration.merchant_id, v_registration.id, 'completion', p.email, p.name, inv.language,
      (inv.payload - 'jti') || jsonb_build_object(
        'interview_id', i.id,
        'interview_name', i.name,
        'merchant_name', m.name
      )
    from (
      select o.language, o.payload from public.email_outbox o
      where o.profile_interview_id = p_profile_interview_id and o.kind = 'invitation'
      order by o.created_at desc
      limit 1
    ) inv
    join public.candidate_profiles p on p.id = v_registration.profile_id
    join public.interviews i on i.id = v_registration.interview_id
    join public.merchants m on m.id = v_registration.merchant_id
    on conflict (profile_interview_id) where kind = 'completion' do nothing;
    get diagnostics v_queued = row_count;
  end if;

  return jsonb_build_object(
    'profile_interview_id', v_registration.id,
    'status', v_registration.status,
    'completed_at', v_registration.completed_at,
    'already_completed', v_already,
    'notification_queued', v_queued > 0
  );
end;
$$;

revoke all on all functions in schema app from public;
