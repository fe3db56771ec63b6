-- Issue 11: registration status reads, Idempotency-Key, cancel, dry run
-- (docs/registrations.md, docs/idempotency.md).
--
-- 1. app.get_registration / app.list_registrations: a merchant reads its own
--    and its sub-merchants' registrations (the callers registration takes),
--    one statement per request, filtered through indexes.
-- 2. public.idempotency_keys: the first answer to a request with an
--    Idempotency-Key, stored per merchant and key in the transaction of the
--    request's own writes (app.idempotency_claim, app.idempotency_store).
-- 3. app.cancel_registration: a registration cancelled; its link then
--    redeems to a 410 that says so (app.redeem_interview_token), and a credit
--    spent on it comes back when its link was never redeemed.
-- 4. app.register_users_dry_run / app.invite_users_dry_run: the real call,
--    rolled back, its result kept (dry_run: true).

alter table public.profile_interviews add column cancelled_at timestamptz;
comment on column public.profile_interviews.cancelled_at is
  'When the registration was cancelled (app.cancel_registration).';

-- Read paths: every filter of the list has an index that starts with it
-- (the merchant's tree is at most a handful of ids), and the default order
-- (created_at, id) is an index order. profile_interviews (merchant_id) is
-- replaced by the same index with the order appended. Each costs registration
-- an index entry per row (the partial ones only when the column is set).
create index profile_interviews_merchant_created_idx
  on public.profile_interviews (merchant_id, created_at, id);
drop index public.profile_interviews_merchant_idx;
create index profile_interviews_interview_idx on public.profile_interviews (interview_id, created_at, id);
create index profile_interviews_position_idx
  on public.profile_interviews (position_id, created_at, id) where position_id is not null;
create index profile_interviews_profile_idx on public.profile_interviews (profile_id);
create index profile_interviews_job_application_idx
  on public.profile_interviews (merchant_id, job_application_id) where job_application_id is not null;
create index candidate_profiles_external_id_idx
  on public.candidate_profiles (merchant_id, external_id) where external_id is not null;

create function app.merchant_tree(p_merchant_id uuid) returns uuid[]
language sql stable
set search_path = ''
as $$
  with recursive tree (id, depth) as (
    select p_merchant_id, 0
    union all
    select m.id, t.depth + 1
    from tree t
    join public.merchants m on m.parent_merchant_id = t.id
    where t.depth < 32
  )
  select array_agg(distinct id) from tree;
$$;

comment on function app.merchant_tree is $$
A merchant and its sub-merchants at any depth (bounded like app.nearest_role).
$$;

create function app.registration_state(
  p_status public.registration_status,
  p_link_expires_at timestamptz
) returns text
language sql stable
set search_path = ''
as $$
  select case when p_status = 'registered' and p_link_expires_at <= now() then 'expired' else p_status::text end;
$$;

comment on function app.registration_state is $$
What the API calls a registration's status: the stored one, except that a
registration whose link expired unredeemed is 'expired'.
$$;

create function app.registration_json(
  p_registration public.profile_interviews,
  p_link_expires_at timestamptz
) returns jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_registration.id,
    'merchant_id', p_registration.merchant_id,
    'profile_id', p.id,
    'candidate', jsonb_build_object('name', p.name, 'email', p.email, 'external_id', p.external_id),
    'interview_id', p_registration.interview_id,
    'interview_name', i.name,
    'position_id', p_registration.position_id,
    'job_application_id', p_registration.job_application_id,
    'status', app.registration_state(p_registration.status, p_link_expires_at),
    'is_test', p_registration.is_test,
    'created_at', p_registration.created_at,
    'started_at', p_registration.started_at,
    'completed_at', p_registration.completed_at,
    'cancelled_at', p_registration.cancelled_at,
    'link_expires_at', p_link_expires_at,
    'emails', coalesce((
      select jsonb_agg(jsonb_build_object(
        'id', o.id,
        'kind', o.kind,
        'state', case when o.status in ('pending', 'sending') then 'queued' else o.status::text end,
        'to', o.to_email,
        'created_at', o.created_at,
        'send_after', o.send_after,
        'sent_at', o.sent_at,
        'attempts', o.attempts,
        'error', case when o.status in ('failed', 'cancelled') then o.last_error end
      ) order by o.created_at, o.id)
      from public.email_outbox o
      where o.profile_interview_id = p_registration.id
    ), '[]'::jsonb)
  )
  from public.candidate_profiles p, public.interviews i
  where p.id = p_registration.profile_id and i.id = p_registration.interview_id;
$$;

comment on function app.registration_json is $$
One registration as the API shows it. p_link_expires_at is its live
link's expiry (null once the link was spent or revoked).
$$;

create function app.live_link_expiry(p_registration_id uuid) returns timestamptz
language sql stable
set search_path = ''
as $$
  select t.expires_at from public.interview_tokens t
  where t.profile_interview_id = p_registration_id and t.redeemed_at is null and t.revoked_at is null;
$$;

comment on function app.live_link_expiry is $$
The live link's expiry of a registration (the unique index of live tokens).
$$;

create function app.get_registration(p_account_id uuid, p_merchant_id uuid, p_id uuid) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_merchant_id uuid;
  v_registration public.profile_interviews%rowtype;
begin
  v_merchant_id := app.acting_merchant(
    p_account_id, p_merchant_id, array['merchant_owner', 'merchant']::public.member_role[]
  );
  select * into v_registration from public.profile_interviews
  where id = p_id and merchant_id = any (app.merchant_tree(v_merchant_id));
  if not found then
    raise exception 'Registration not found' using errcode = 'JM404';
  end if;
  return app.registration_json(v_registration, app.live_link_expiry(v_registration.id));
end;
$$;

comment on function app.get_registration is $$
One registration of the acting merchant or a sub-merchant of it; any
other id is 404, whoever holds it.
$$;

create function app.list_registrations(
  p_account_id uuid,
  p_merchant_id uuid,
  p_interview_id uuid,
  p_position_id uuid,
  p_external_id text,
  p_email text,
  p_job_application_id text,
  p_status text,
  p_created_after timestamptz,
  p_created_before timestamptz,
  p_limit integer,
  p_offset integer
) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_merchant_id uuid;
  v_tree uuid[];
  v_total bigint;
  v_data jsonb;
begin
  v_merchant_id := app.acting_merchant(
    p_account_id, p_merchant_id, array['merchant_owner', 'merchant']::public.member_role[]
  );
  v_tree := app.merchant_tree(v_merchant_id);

  with matches as materialized (
    select pi, l.expires_at as link_expires_at
    from public.profile_interviews pi
    join public.candidate_profiles p on p.id = pi.profile_id
    left join lateral (
      select t.expires_at from public.interview_tokens t
      where t.profile_interview_id = pi.id and t.redeemed_at is null and t.revoked_at is null
    ) l on true
    where pi.merchant_id = any (v_tree)
      and (p_interview_id is null or pi.interview_id = p_interview_id)
      and (p_position_id is null or pi.position_id = p_position_id)
      and (p_external_id is null or (p.merchant_id = any (v_tree) and p.external_id = p_external_id))
      and (p_email is null or (p.merchant_id = any (v_tree) and p.email_key = lower(p_email)))
      and (p_job_application_id is null or pi.job_application_id = p_job_application_id)
      and (p_created_after is null or pi.created_at >= p_created_after)
      and (p_created_before is null or pi.created_at < p_created_before)
      and (p_status is null or app.registration_state(pi.status, l.expires_at) = p_status)
  ),
  page as (
    select m.pi, m.link_expires_at
    from matches m
    order by (m.pi).created_at, (m.pi).id
    limit p_limit offset p_offset
  )
  select (select count(*) from matches),
    coalesce((
      select jsonb_agg(app.registration_json(pg.pi, pg.link_expires_at)
        order by (pg.pi).created_at, (pg.pi).id)
      from page pg
    ), '[]'::jsonb)
  into v_total, v_data;

  return jsonb_build_object(
    'data', v_data,
    'pagination', jsonb_build_object(
      'total', v_total, 'limit', p_limit, 'offset', p_offset, 'has_more', p_offset + jsonb_array_length(v_data) < v_total
    )
  );
end;
$$;

comment on function app.list_registrations is $$
A page of the acting merchant's (and its sub-merchants') registrations,
oldest first (created_at, id: new registrations land after the last
page, so paging with offset neither skips nor repeats), with the total
that match. Filters are optional and combine with AND; p_email matches
case-insensitively, p_created_after inclusive, p_created_before exclusive.
Planned per call (force_custom_plan below): a filter left null drops out
of the plan, and the one given picks its index.
$$;
alter function app.list_registrations(
  uuid, uuid, uuid, uuid, text, text, text, text, timestamptz, timestamptz, integer, integer
) set plan_cache_mode = force_custom_plan;

create table public.idempotency_keys (
  merchant_id uuid not null references public.merchants (id) on delete cascade,
  key text not null check (length(key) between 1 and 255),
  fingerprint bytea not null check (length(fingerprint) = 32),
  response jsonb,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (merchant_id, key)
);
create index idempotency_keys_expires_idx on public.idempotency_keys (expires_at);
alter table public.idempotency_keys enable row level security;
comment on table public.idempotency_keys is $$
The first answer to a request sent with an Idempotency-Key, per merchant
and key (docs/idempotency.md). Written in the transaction of the request's
own writes, so a key is stored exactly when its request committed.
fingerprint: SHA-256 of the endpoint and the request body; response: what
the request's SQL call returned, with what the API needs to answer the
same again (e.g. the issue time its links were signed with).
$$;

create function app.idempotency_claim_for(
  p_merchant_id uuid,
  p_key text,
  p_fingerprint bytea,
  p_ttl_seconds integer
) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_claimed boolean;
  v_stored public.idempotency_keys%rowtype;
begin
  insert into public.idempotency_keys as k (merchant_id, key, fingerprint, expires_at)
  values (p_merchant_id, p_key, p_fingerprint, now() + make_interval(secs => p_ttl_seconds))
  on conflict on constraint idempotency_keys_pkey do update
    set fingerprint = excluded.fingerprint, response = null, created_at = now(), expires_at = excluded.expires_at
    where k.expires_at <= now()
  returning true into v_claimed;

  if v_claimed then
    delete from public.idempotency_keys
    where ctid = any (array(
      select e.ctid from public.idempotency_keys e where e.expires_at <= now() limit 10 for update skip locked
    ));
    return null;
  end if;

  select * into v_stored from public.idempotency_keys k where k.merchant_id = p_merchant_id and k.key = p_key;
  if v_stored.fingerprint <> p_fingerprint then
    raise exception 'Idempotency-Key already used for a different request' using errcode = 'JM422',
      hint = 'Idempotency-Key';
  end if;
  return v_stored.response;
end;
$$;

comment on function app.idempotency_claim_for is $$
Claims p_key for p_merchant_id, a merchant the request is already known to
act for (app.idempotency_claim authorizes a caller first; a redemption's
merchant is its verified token's). Returns null when this request is to
run, or, when the key was used before by a request that committed, that
request's stored response (the caller answers with it and runs nothing). A
request with the key still in flight holds its row: the insert waits for it
to commit (then this replays it) or roll back (then this one runs), so one
key never runs twice. The same key with another fingerprint is a 422. A key
past its expiry is claimed anew; each claim also deletes a few expired
keys, so the table keeps itself to the keys of the last TTL.
$$;

create function app.idempotency_claim(
  p_account_id uuid,
  p_merchant_id uuid,
  p_key text,
  p_fingerprint bytea,
  p_ttl_seconds integer
) returns table (merchant_id uuid, replay jsonb)
language plpgsql volatile
set search_path = ''
as $$
declare
  v_merchant_id uuid;
begin
  v_merchant_id := app.acting_merchant(
    p_account_id, p_merchant_id, array['merchant_owner', 'merchant']::public.member_role[]
  );
  return query select v_merchant_id, app.idempotency_claim_for(v_merchant_id, p_key, p_fingerprint, p_ttl_seconds);
end;
$$;

comment on function app.idempotency_claim is $$
The first step of a keyed request's one statement: authorizes the caller
(app.acting_merchant, with the roles every writing endpoint takes) and
claims p_key for the merchant it acts for (app.idempotency_claim_for).
Returns that merchant and the stored response to replay, or null.
$$;

create function app.idempotency_store(p_merchant_id uuid, p_key text, p_response jsonb) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
begin
  update public.idempotency_keys set response = p_response where merchant_id = p_merchant_id and key = p_key;
  return p_response;
end;
$$;

comment on function app.idempotency_store is $$
Records the response of the request that claimed p_key (in its own
transaction) and returns it.
$$;

create function app.cancel_registration(p_account_id uuid, p_merchant_id uuid, p_id uuid) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_merchant_id uuid;
  v_registration public.profile_interviews%rowtype;
  v_refund boolean := false;
begin
  v_merchant_id := app.acting_merchant(
    p_account_id, p_merchant_id, array['merchant_owner', 'merchant']::public.member_role[]
  );
  select * into v_registration from public.profile_interviews
  where id = p_id and merchant_id = any (app.merchant_tree(v_merchant_id))
  for update;
  if not found then
    raise exception 'Registration not found' using errcode = 'JM404';
  end if;
  if v_registration.status = 'completed' then
    raise exception 'Registration already completed' using errcode = 'JM409';
  end if;

  if v_registration.status <> 'cancelled' then
    v_refund := v_registration.status = 'registered' and v_registration.credit_spent;
    update public.profile_interviews
    set status = 'cancelled', cancelled_at = now(), credit_spent = credit_spent and not v_refund
    where id = p_id
    returning * into v_registration;
    update public.interview_tokens set revoked_at = now()
    where profile_interview_id = p_id and redeemed_at is null and revoked_at is null;
    update public.email_outbox set status = 'cancelled', last_error = 'Registration cancelled'
    where profile_interview_id = p_id and status = 'pending';
    if v_refund then
      update public.merchants set interview_credits = interview_credits + 1 where id = v_registration.merchant_id;
    end if;
  end if;

  return app.registration_json(v_registration, null) || jsonb_build_object('credit_returned', v_refund);
end;
$$;

comment on function app.cancel_registration is $$
Cancels a registration of the acting merchant or a sub-merchant of it
(else 404), for the callers registration takes. Its live link is revoked
(redeeming it is a 410 "cancelled"), its pending emails (invitation,
reminders) are cancelled, and when its link was never redeemed (status
registered, expired included) the credit it spent is returned to the
merchant: the candidate never took the interview. A started registration
keeps its credit. Cancelling a cancelled registration changes nothing; a
completed one is a 409. Locks the registration, then its tokens and
emails, then the merchant's row: the order registration keeps.

Returns the registration as app.get_registration does, with
credit_returned.
$$;

create or replace function app.redeem_interview_token(p_jti uuid, p_profile_interview_id uuid)
returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_token public.interview_tokens%rowtype;
  v_result jsonb;
  v_open boolean;
  v_registration_status public.registration_status;
begin
  -- Registration before token: the order app.register_batch locks them in.
  select status into v_registration_status from public.profile_interviews where id = p_profile_interview_id for update;
  select * into v_token from public.interview_tokens where jti = p_jti for update;
  if not found or v_token.profile_interview_id <> p_profile_interview_id then
    raise exception 'Invalid interview token' using errcode = 'JM401', hint = 'interview_token';
  end if;
  if v_registration_status = 'cancelled' then
    raise exception 'Interview link cancelled: the registration was cancelled' using errcode = 'JM410',
      hint = 'interview_token';
  end if;
  if v_token.redeemed_at is not null then
    raise exception 'Interview token already used' using errcode = 'JM410', hint = 'interview_token';
  end if;
  if v_token.revoked_at is not null then
    raise exception 'Interview token revoked: a newer link was issued' using errcode = 'JM410', hint = 'interview_token';
  end if;
  if v_token.expires_at <= now() then
    raise exception 'Interview token expired' using errcode = 'JM410', hint = 'interview_token';
  end if;

  select
    app.interview_is_open(i.status, i.interview_available_till, pi.is_test),
    pi.status,
    jsonb_build_object(
      'profile_interview_id', pi.id,
      'profile_id', p.id,
      'merchant_id', pi.merchant_id,
      'interview_id', i.id,
      'interview_name', i.name,
      'position_id', pi.position_id,
      'name', p.name,
      'email', p.email,
      'external_id', p.external_id,
      'is_test', pi.is_test,
      'job_application_id', pi.job_application_id
    )
  into v_open, v_registration_status, v_result
  from public.profile_interviews pi
  join public.interviews i on i.id = pi.interview_id
  join public.candidate_profiles p on p.id = pi.profile_id
  where pi.id = v_token.profile_interview_id;

  if v_registration_status not in ('registered', 'started') then
    raise exception 'Registration is no longer open' using errcode = 'JM409';
  end if;
  if not v_open then
    raise exception 'Interview is no longer available' using errcode = 'JM409';
  end if;

  update public.interview_tokens set redeemed_at = now() where jti = p_jti;
  update public.profile_interviews
    set status = 'started', started_at = now()
    where id = v_token.profile_interview_id and status = 'registered';
  update public.email_outbox set status = 'cancelled'
    where profile_interview_id = v_token.profile_interview_id and kind = 'reminder' and status = 'pending';

  return v_result || jsonb_build_object('status', 'started');
end;
$$;

comment on function app.redeem_interview_token is $$
Spends a one-time interview token. The caller has already checked the
token's signature and expiry; this decides, under a row lock, whether it is
still the registration's live link. Of concurrent calls for one token the
first wins and the rest see it used. A cancelled registration's link is a
410 that says so (app.cancel_registration).

Returns the registration (its job_application_id included), status 'started'.
$$;

create function app.register_users_dry_run(
  p_account_id uuid,
  p_merchant_id uuid,
  p_interview_or_position_id uuid,
  p_is_test boolean,
  p_send_invitation boolean,
  p_hide_menu boolean,
  p_hide_iframe boolean,
  p_issued_at timestamptz,
  p_expires_at timestamptz,
  p_users jsonb,
  p_language text default 'en',
  p_email_payload jsonb default '{}'::jsonb,
  p_skip_invited boolean default false,
  p_all_or_nothing boolean default false,
  p_candidate_id uuid default null,
  p_job_application_id text default null
) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_result jsonb;
begin
  begin
    v_result := app.register_users(
      p_account_id, p_merchant_id, p_interview_or_position_id, p_is_test, p_send_invitation, p_hide_menu,
      p_hide_iframe, p_issued_at, p_expires_at, p_users, p_language, p_email_payload, p_skip_invited,
      p_all_or_nothing, p_candidate_id, p_job_application_id
    );
    raise exception 'dry run: rolled back' using errcode = 'JMDRY';
  exception when sqlstate 'JMDRY' then
    -- Everything the call wrote went with the subtransaction; its result is kept.
  end;
  return v_result;
end;
$$;

comment on function app.register_users_dry_run is $$
app.register_users for dry_run: the real call in a subtransaction that is then rolled back, so
its result is exactly the real call's (credits, duplicates, reuse, every
error) and nothing it wrote remains: no row, no credit, no email, no
NOTIFY (a rolled-back subtransaction's notifications are dropped), and the
advisory locks it took go with it. An error the call raises itself (a
4xx) is raised as it would be.
$$;

create function app.invite_users_dry_run(
  p_account_id uuid,
  p_merchant_id uuid,
  p_force boolean,
  p_issued_at timestamptz,
  p_invitation_expires_at timestamptz,
  p_token_expires_at timestamptz,
  p_members jsonb,
  p_candidates jsonb,
  p_language text,
  p_email_payload jsonb
) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_result jsonb;
begin
  begin
    v_result := app.invite_users(
      p_account_id, p_merchant_id, p_force, p_issued_at, p_invitation_expires_at, p_token_expires_at, p_members,
      p_candidates, p_language, p_email_payload
    );
    raise exception 'dry run: rolled back' using errcode = 'JMDRY';
  exception when sqlstate 'JMDRY' then
    -- As above.
  end;
  return v_result;
end;
$$;

comment on function app.invite_users_dry_run is $$
app.invite_users for dry_run, rolled back as app.register_users_dry_run is.
$$;

revoke all on all functions in schema app from public;
