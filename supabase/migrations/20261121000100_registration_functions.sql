-- The functions each API request calls: one call, one round trip, one
-- transaction. They live in the `app` schema, which PostgREST does not
-- expose, and only the owner may execute them.
--
-- Errors meant for the API caller are raised with SQLSTATE 'JM' + HTTP status
-- (e.g. JM422), the message as the error text and the offending field, if
-- any, as HINT; the functions layer maps them to `{"error", "name"}`.

create schema app;
revoke all on schema app from public;

-- The caller's role for a merchant: the nearest membership on the path from
-- it up to its root (sub-merchants nest), or null when there is none.
create function app.nearest_role(p_account_id uuid, p_merchant_id uuid) returns public.member_role
language sql stable
set search_path = ''
as $$
  with recursive chain (id, depth) as (
    select p_merchant_id, 0
    union all
    select m.parent_merchant_id, c.depth + 1
    from chain c
    join public.merchants m on m.id = c.id
    where m.parent_merchant_id is not null and c.depth < 32
  )
  select mm.role
  from chain c
  join public.merchant_members mm on mm.merchant_id = c.id and mm.account_id = p_account_id
  order by c.depth
  limit 1;
$$;

-- The merchant a caller acts for, after every authorization rule of the API:
-- the service key must name an existing merchant; a user acts for their home
-- merchant, or for a named one when they are a platform admin or hold an
-- allowed role there or at any ancestor of it (sub-merchants nest).
create function app.acting_merchant(
  p_account_id uuid,
  p_merchant_id uuid,
  p_allowed_roles public.member_role[]
) returns uuid
language plpgsql stable
set search_path = ''
as $$
declare
  v_account public.accounts%rowtype;
  v_target uuid;
  v_role public.member_role;
begin
  if p_account_id is null then
    if p_merchant_id is null then
      raise exception 'Field is required.' using errcode = 'JM422', hint = 'merchant_id';
    end if;
    perform 1 from public.merchants where id = p_merchant_id;
    if not found then
      raise exception 'Merchant not found' using errcode = 'JM422', hint = 'merchant_id';
    end if;
    return p_merchant_id;
  end if;

  select * into v_account from public.accounts where id = p_account_id;
  if not found then
    raise exception 'Unauthenticated user' using errcode = 'JM401';
  end if;

  v_target := coalesce(p_merchant_id, v_account.home_merchant_id);
  if v_target is null then
    raise exception 'Field is required.' using errcode = 'JM422', hint = 'merchant_id';
  end if;

  if v_account.is_platform_admin then
    perform 1 from public.merchants where id = v_target;
    if not found then
      raise exception 'Merchant not found' using errcode = 'JM422', hint = 'merchant_id';
    end if;
    return v_target;
  end if;

  -- A merchant the caller has no link to (existing or not) is a 403, so
  -- staff cannot probe which merchant ids exist.
  v_role := app.nearest_role(p_account_id, v_target);
  if v_role is null then
    raise exception 'Not allowed to act for this merchant' using errcode = 'JM403', hint = 'merchant_id';
  end if;
  if not (v_role = any (p_allowed_roles)) then
    raise exception 'Role not permitted' using errcode = 'JM403';
  end if;
  return v_target;
end;
$$;

-- Resolves an interview_def_set or position_def_set id of the merchant and
-- checks that it can take registrations now.
create function app.registrable_interview(
  p_merchant_id uuid,
  p_interview_or_position_id uuid,
  p_is_test boolean,
  out interview_id uuid,
  out position_id uuid,
  out interview_name text
)
language plpgsql stable
set search_path = ''
as $$
declare
  v_status public.interview_status;
  v_till timestamptz;
begin
  select i.id, null, i.name, i.status, i.interview_available_till
    into interview_id, position_id, interview_name, v_status, v_till
  from public.interviews i
  where i.id = p_interview_or_position_id and i.merchant_id = p_merchant_id;

  if not found then
    select i.id, p.id, i.name, i.status, i.interview_available_till
      into interview_id, position_id, interview_name, v_status, v_till
    from public.positions p
    join public.interviews i on i.id = p.interview_id
    where p.id = p_interview_or_position_id and p.merchant_id = p_merchant_id;
  end if;

  if not found then
    raise exception 'Interview not found' using errcode = 'JM422', hint = 'interview_id';
  end if;

  if not app.interview_is_open(v_status, v_till, p_is_test) then
    raise exception 'Interview is not available' using errcode = 'JM422', hint = 'interview_id';
  end if;
end;
$$;

-- A normal registration or redemption needs a published interview before its
-- availability date; a test one also takes a draft, whatever the date.
create function app.interview_is_open(
  p_status public.interview_status,
  p_available_till timestamptz,
  p_is_test boolean
) returns boolean
language sql stable
as $$
  select (p_status = 'active' and (p_is_test or p_available_till is null or p_available_till > now()))
      or (p_is_test and p_status = 'draft');
$$;

-- The key of a merchant's transaction-level advisory lock for one purpose
-- ('credits': register batches; 'invitations': team and coaching invitations).
create function app.merchant_lock_key(p_purpose text, p_merchant_id uuid) returns bigint
language sql immutable
set search_path = ''
as $$
  select hashtextextended(p_purpose || ':' || p_merchant_id::text, 0);
$$;

-- A batch row as it moves between the statements of app.register_batch.
create type app.batch_row as (
  i integer,
  email text,
  email_key text,
  name text,
  external_id text,
  profile_id uuid,
  registration_id uuid,
  -- Inserted by this batch: no other transaction can see it yet, so it
  -- needs no lock and has no earlier link or invitation to supersede.
  is_new boolean,
  error text
);

-- One pass over a batch: profiles, registrations, tokens and invitations,
-- then the credits the new registrations cost. With p_credit_budget null it
-- is optimistic: every row that needs a credit gets one, and if the merchant
-- cannot pay for them all at the end it raises JMCRD (nothing is kept) so the
-- caller can redo the batch alone, with a budget the rows that need a credit
-- spend in input order. JMRTY means the state it read changed under it.
--
-- Batches of one merchant overlap: the merchant's row is locked only by the
-- final decrement. What they share is locked in one global order (profiles
-- by email, then registrations by id, then the merchant), so they queue
-- rather than deadlock; the partial unique indexes make a concurrent
-- duplicate a reuse. With p_skip_invited (invite-users without
-- force_invite), a candidate whose open registration was started or has an
-- invitation queued or sent keeps it and comes back skipped.
create function app.register_batch(
  p_merchant public.merchants,
  p_interview_id uuid,
  p_position_id uuid,
  p_interview_name text,
  p_is_test boolean,
  p_send_invitation boolean,
  p_hide_menu boolean,
  p_hide_iframe boolean,
  p_issued_at timestamptz,
  p_expires_at timestamptz,
  p_users jsonb,
  p_language text,
  p_email_payload jsonb,
  p_skip_invited boolean,
  p_credit_budget integer
) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_rows app.batch_row[];
  v_new_registrations integer;
  v_result jsonb;
begin
  -- Profiles (found by case-insensitive email, or created) and registrations
  -- for every row that gets a credit or needs none. Lookups are LATERAL so
  -- they are driven by the batch, one index probe per row.
  with input as (
    select u.i, u.email, lower(u.email) as email_key, u.name, u.external_id
    from jsonb_to_recordset(p_users) as u (i integer, email text, name text, external_id text)
  ),
  ranked as (
    select input.*,
      count(*) filter (where pi.id is null and not p_is_test) over (order by input.i) as credit_rank,
      (pi.id is null and not p_is_test) as needs_credit
    from input
    left join lateral (
      select p.id from public.candidate_profiles p
      where p.merchant_id = p_merchant.id and p.email_key = input.email_key
    ) p on true
    left join lateral (
      select pi.id from public.profile_interviews pi
      where pi.profile_id = p.id and pi.interview_id = p_interview_id
        and pi.is_test = p_is_test and pi.status in ('registered', 'started')
    ) pi on true
  ),
  profiles as (
    insert into public.candidate_profiles as p (merchant_id, email, name, external_id)
    select p_merchant.id, r.email, r.name, r.external_id
    from ranked r
    where p_credit_budget is null or not r.needs_credit or r.credit_rank <= p_credit_budget
    order by r.email_key
    on conflict (merchant_id, email_key) do update
      set name = coalesce(excluded.name, p.name),
          external_id = coalesce(excluded.external_id, p.external_id),
          updated_at = now()
    returning p.id, p.email_key
  ),
  -- An open registration that exists (or that a concurrent batch has just
  -- made) is kept: the insert does nothing for it and it costs nothing.
  new_registrations as (
    insert into public.profile_interviews
      (merchant_id, profile_id, interview_id, position_id, is_test, credit_spent)
    select p_merchant.id, p.id, p_interview_id, p_position_id, p_is_test, not p_is_test
    from profiles p
    order by p.id
    on conflict (profile_id, interview_id, is_test) where status in ('registered', 'started') do nothing
    returning id, profile_id
  )
  select
    array_agg(row(r.i, r.email, r.email_key, r.name, r.external_id, p.id, nr.id, nr.id is not null, null)::app.batch_row
      order by r.i),
    count(nr.id)
  into v_rows, v_new_registrations
  from ranked r
  left join profiles p using (email_key)
  left join new_registrations nr on nr.profile_id = p.id;

  -- Each reused row's open registration, locked: batches that share a
  -- candidate take turns from here on, so exactly one live link remains.
  with locked as materialized (
    select pi.id, pi.profile_id, pi.status
    from public.profile_interviews pi
    where pi.profile_id = any (array(
        select r.profile_id from unnest(v_rows) r where r.profile_id is not null and not r.is_new
      ))
      and pi.interview_id = p_interview_id and pi.is_test = p_is_test and pi.status in ('registered', 'started')
    order by pi.id
    for update
  )
  select array_agg(row(r.i, r.email, r.email_key, r.name, r.external_id, r.profile_id,
      coalesce(r.registration_id, l.id), r.is_new,
      case
        when r.profile_id is null then 'Not enough interview credits'
        when p_skip_invited and (l.status = 'started' or exists (
          select 1 from public.email_outbox o
          where o.profile_interview_id = l.id and o.kind = 'invitation' and o.status in ('pending', 'sending', 'sent')
        )) then 'skipped'
      end)::app.batch_row order by r.i)
  into v_rows
  from unnest(v_rows) r
  left join locked l on l.profile_id = r.profile_id and not r.is_new;

  -- A registration that closed between the insert and the lock: start over.
  if exists (select 1 from unnest(v_rows) r where r.profile_id is not null and r.registration_id is null) then
    raise exception 'a registration changed under this batch' using errcode = 'JMRTY';
  end if;

  -- Newest link wins: reused registrations' live tokens are revoked before
  -- the new ones are minted (one live token per registration is a unique
  -- index), and a fresh invitation supersedes one still waiting to go out.
  with registrations as (
    select r.registration_id as id from unnest(v_rows) r where r.error is null and not r.is_new
  ),
  revoked as (
    update public.interview_tokens t set revoked_at = now()
    from registrations
    where t.profile_interview_id = registrations.id and t.redeemed_at is null and t.revoked_at is null
  )
  update public.email_outbox o set status = 'cancelled'
  from registrations
  where p_send_invitation and o.profile_interview_id = registrations.id
    and o.kind = 'invitation' and o.status = 'pending';

  with tokens as (
    insert into public.interview_tokens (profile_interview_id, issued_at, expires_at, hide_menu, hide_iframe)
    select r.registration_id, p_issued_at, p_expires_at, p_hide_menu, p_hide_iframe
    from unnest(v_rows) r
    where r.error is null
    returning jti, profile_interview_id
  ),
  invitations as (
    insert into public.email_outbox
      (merchant_id, profile_interview_id, kind, to_email, to_name, language, payload)
    select p_merchant.id, r.registration_id, 'invitation', r.email, p.name, p_language,
      p_email_payload || jsonb_build_object(
        'jti', t.jti,
        'interview_id', p_interview_id,
        'interview_name', p_interview_name,
        'merchant_name', p_merchant.name
      )
    from unnest(v_rows) r
    join tokens t on t.profile_interview_id = r.registration_id
    join public.candidate_profiles p on p.id = r.profile_id
    where p_send_invitation
  )
  select coalesce(jsonb_agg(
    case
      when r.error = 'skipped' then jsonb_build_object(
        'i', r.i, 'profile_id', r.profile_id, 'profile_interview_id', r.registration_id, 'skipped', true
      )
      when r.error is not null then jsonb_build_object('i', r.i, 'error', r.error)
      else jsonb_build_object(
        'i', r.i, 'profile_id', r.profile_id, 'profile_interview_id', r.registration_id, 'jti', t.jti
      )
    end order by r.i), '[]'::jsonb)
  into v_result
  from unnest(v_rows) r
  left join tokens t on t.profile_interview_id = r.registration_id;

  if v_new_registrations > 0 and not p_is_test then
    update public.merchants
    set interview_credits = interview_credits - v_new_registrations
    where id = p_merchant.id and interview_credits >= v_new_registrations;
    if not found then
      raise exception 'the merchant cannot pay for this batch' using errcode = 'JMCRD';
    end if;
  end if;
  return v_result;
end;
$$;

-- Registers a batch of candidates for one interview in one transaction.
--
-- p_users holds only rows that passed validation: [{i, email, name?,
-- external_id?}] with i the row's index in the request and emails unique
-- case-insensitively. Rows are independent: a row that cannot get a credit
-- writes nothing, the others go ahead.
--
-- Returns {merchant_id, interview_id, position_id, interview_base_url, rows:
-- [{i, profile_id, profile_interview_id, jti} | {i, profile_id,
-- profile_interview_id, skipped} | {i, error}]}.
create function app.register_users(
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
  p_skip_invited boolean default false
) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_merchant public.merchants%rowtype;
  v_interview record;
  v_rows jsonb;
  v_attempt integer := 0;
begin
  v_merchant.id := app.acting_merchant(
    p_account_id, p_merchant_id, array['merchant_owner', 'merchant']::public.member_role[]
  );
  select * into v_interview from app.registrable_interview(v_merchant.id, p_interview_or_position_id, p_is_test);
  select * into v_merchant from public.merchants where id = v_merchant.id;

  -- The common case, optimistic, beside the merchant's other batches (a
  -- shared lock); skipped when the credits visible now could not cover
  -- every row anyway.
  if p_is_test or v_merchant.interview_credits >= jsonb_array_length(p_users) then
    begin
      perform pg_advisory_xact_lock_shared(app.merchant_lock_key('credits', v_merchant.id));
      v_rows := app.register_batch(
        v_merchant, v_interview.interview_id, v_interview.position_id, v_interview.interview_name,
        p_is_test, p_send_invitation, p_hide_menu, p_hide_iframe, p_issued_at, p_expires_at,
        p_users, p_language, p_email_payload, p_skip_invited, null
      );
    exception when sqlstate 'JMCRD' or sqlstate 'JMRTY' then
      -- Nothing was kept, and the shared lock went with it.
      v_rows := null;
    end;
  end if;

  -- Otherwise the batch runs alone among the merchant's batches (the
  -- exclusive lock waits for the optimistic ones in flight and holds back
  -- new ones), so the credits it reads are the credits it may spend.
  while v_rows is null loop
    v_attempt := v_attempt + 1;
    begin
      perform pg_advisory_xact_lock(app.merchant_lock_key('credits', v_merchant.id));
      select * into v_merchant from public.merchants where id = v_merchant.id;
      v_rows := app.register_batch(
        v_merchant, v_interview.interview_id, v_interview.position_id, v_interview.interview_name,
        p_is_test, p_send_invitation, p_hide_menu, p_hide_iframe, p_issued_at, p_expires_at,
        p_users, p_language, p_email_payload, p_skip_invited, v_merchant.interview_credits
      );
    exception when sqlstate 'JMCRD' or sqlstate 'JMRTY' then
      -- Credits or a registration changed by something other than a batch
      -- (a completion, a top-up): read again.
      if v_attempt >= 3 then
        raise;
      end if;
    end;
  end loop;

  return jsonb_build_object(
    'merchant_id', v_merchant.id,
    'interview_id', v_interview.interview_id,
    'position_id', v_interview.position_id,
    'interview_base_url', v_merchant.interview_base_url,
    'rows', v_rows
  );
end;
$$;

-- Spends a one-time interview token. The caller has already checked the
-- token's signature and expiry; this decides, under a row lock, whether it is
-- still the registration's live link. Of concurrent calls for one token the
-- first wins and the rest see it used.
create function app.redeem_interview_token(p_jti uuid, p_profile_interview_id uuid)
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
  perform 1 from public.profile_interviews where id = p_profile_interview_id for update;
  select * into v_token from public.interview_tokens where jti = p_jti for update;
  if not found or v_token.profile_interview_id <> p_profile_interview_id then
    raise exception 'Invalid interview token' using errcode = 'JM401', hint = 'interview_token';
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
      'is_test', pi.is_test
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

revoke all on all functions in schema app from public;
