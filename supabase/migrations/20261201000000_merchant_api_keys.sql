-- Merchant API keys (docs/api-keys.md), and micro1's POST /interview/invite
-- on the registration everyone else uses.
--
-- A key is checked where the request's work is done: app.acting_merchant,
-- which every request's one SQL call starts with. The request names its
-- caller once, in the first argument of that call, app.as_caller(account id,
-- key digest): it returns the account id the functions take as before (null
-- for the service key and for a key) and records the key's digest for the
-- transaction, where app.acting_merchant (and app.invite_members' grant
-- ceiling) find it, however deep the call. So a key costs no round trip of
-- its own, no function between the request and app.acting_merchant needs an
-- extra argument, and a revoked key is refused by the very next request on
-- every function instance, since nothing but the database remembers it.
--
-- app.register_users also takes micro1's all-or-nothing flag, a candidate to
-- re-invite by profile id and a job application id, which registrations now
-- keep and redemption returns (an added argument is a new function in
-- PostgreSQL: the old version is dropped).

-- A merchant's long-lived API key. The key itself is never stored: only its
-- SHA-256 digest (unique, so a presented key is found by one index probe) and
-- the first characters (the prefix shown in lists so people can tell their
-- keys apart; far too short to use).
create table public.merchant_api_keys (
  id uuid primary key default gen_random_uuid(),
  merchant_id uuid not null references public.merchants (id) on delete cascade,
  name text not null check (length(name) between 1 and 100),
  prefix text not null check (length(prefix) between 4 and 16),
  key_hash bytea not null unique check (length(key_hash) = 32),
  -- The account that created it; null for the service key.
  created_by uuid references public.accounts (id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz check (expires_at > created_at),
  -- Kept to the minute: a key in constant use updates its row once a minute.
  last_used_at timestamptz,
  revoked_at timestamptz
);
create index merchant_api_keys_merchant_idx on public.merchant_api_keys (merchant_id, created_at);
alter table public.merchant_api_keys enable row level security;

-- micro1's job_application_id: the integrator's reference for the
-- registration, returned wherever the registration is shown.
alter table public.profile_interviews
  add column job_application_id text check (length(job_application_id) <= 255);

-- Whether p_merchant_id is p_ancestor_id or one of its sub-merchants, at any
-- depth (bounded like app.nearest_role).
create function app.merchant_within(p_merchant_id uuid, p_ancestor_id uuid) returns boolean
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
  select exists (select 1 from chain where id = p_ancestor_id);
$$;

-- The caller of this transaction, set by app.as_caller: the digest of the
-- API key presented, or null.
create function app.caller_api_key() returns bytea
language sql stable
set search_path = ''
as $$
  select decode(nullif(current_setting('jobmojito.api_key', true), ''), 'hex');
$$;

-- Names the request's caller for the rest of its transaction: the first
-- argument of every request's SQL call, evaluated before the call runs.
-- Returns p_account_id (null for the service key and for an API key), and
-- records p_api_key, the digest of a presented API key, for
-- app.caller_api_key (transaction-local: it ends with the request).
create function app.as_caller(p_account_id uuid, p_api_key bytea) returns uuid
language plpgsql volatile
set search_path = ''
as $$
begin
  perform set_config('jobmojito.api_key', coalesce(encode(p_api_key, 'hex'), ''), true);
  return p_account_id;
end;
$$;

drop function app.register_users(
  uuid, uuid, uuid, boolean, boolean, boolean, boolean, timestamptz, timestamptz, jsonb, text, jsonb, boolean
);

-- The merchant a caller acts for, after every authorization rule of the API.
-- The caller is an API key (app.caller_api_key(), the SHA-256 digest of the
-- key presented), a user (p_account_id) or, with neither, the service key.
--
-- - A key must exist, be unrevoked and unexpired (else 401); it acts for its
--   merchant, or for a named sub-merchant of it, like that merchant's owner
--   (any other merchant is a 403). Its last use is recorded at most once a
--   minute, and never waits: a row another request holds is left alone.
-- - The service key must name an existing merchant.
-- - A user acts for their home merchant, or for a named one when they are a
--   platform admin or hold an allowed role there or at any ancestor of it.
-- Volatile now (it records a key's use); it was stable.
create or replace function app.acting_merchant(
  p_account_id uuid,
  p_merchant_id uuid,
  p_allowed_roles public.member_role[]
) returns uuid
language plpgsql volatile
set search_path = ''
as $$
declare
  v_account public.accounts%rowtype;
  v_api_key bytea := app.caller_api_key();
  v_key public.merchant_api_keys%rowtype;
  v_target uuid;
  v_role public.member_role;
begin
  if v_api_key is not null and p_account_id is null then
    select * into v_key from public.merchant_api_keys where key_hash = v_api_key;
    if not found then
      raise exception 'Invalid API key' using errcode = 'JM401';
    end if;
    if v_key.revoked_at is not null then
      raise exception 'API key revoked' using errcode = 'JM401';
    end if;
    if v_key.expires_at <= now() then
      raise exception 'API key expired' using errcode = 'JM401';
    end if;
    if v_key.last_used_at is null or v_key.last_used_at < now() - interval '1 minute' then
      update public.merchant_api_keys set last_used_at = now()
      where id = (select k.id from public.merchant_api_keys k where k.id = v_key.id for update skip locked);
    end if;
    v_target := coalesce(p_merchant_id, v_key.merchant_id);
    if not app.merchant_within(v_target, v_key.merchant_id) then
      raise exception 'Not allowed to act for this merchant' using errcode = 'JM403', hint = 'merchant_id';
    end if;
    return v_target;
  end if;

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

-- Registers a batch of candidates for one interview in one transaction.
--
-- p_users holds only rows that passed validation: [{i, email, name?,
-- external_id?}] with i the row's index in the request and emails unique
-- case-insensitively. Rows are independent: a row that cannot get a credit
-- writes nothing, the others go ahead; with p_all_or_nothing (micro1's
-- invite, which has no per-row errors) such a row fails the whole call
-- instead (JM402), and nothing is written. p_candidate_id (micro1's re-send)
-- registers that candidate profile of the merchant again, in place of
-- p_users: the same registration, a new link, the old one revoked.
-- p_job_application_id is kept on every registration of the batch.
--
-- Returns {merchant_id, interview_id, position_id, interview_base_url,
-- candidate_email (with p_candidate_id), rows: [{i, profile_id,
-- profile_interview_id, jti} | {i, profile_id, profile_interview_id,
-- skipped} | {i, error}]}.
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
  p_skip_invited boolean default false,
  p_all_or_nothing boolean default false,
  p_candidate_id uuid default null,
  p_job_application_id text default null
) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_merchant public.merchants%rowtype;
  v_interview record;
  v_candidate_email text;
  v_rows jsonb;
  v_attempt integer := 0;
begin
  v_merchant.id := app.acting_merchant(
    p_account_id, p_merchant_id, array['merchant_owner', 'merchant']::public.member_role[]
  );
  select * into v_interview from app.registrable_interview(v_merchant.id, p_interview_or_position_id, p_is_test);
  select * into v_merchant from public.merchants where id = v_merchant.id;

  if p_candidate_id is not null then
    select p.email into v_candidate_email
    from public.candidate_profiles p
    where p.id = p_candidate_id and p.merchant_id = v_merchant.id;
    if not found then
      raise exception 'Candidate not found' using errcode = 'JM422', hint = 'candidate_id';
    end if;
    p_users := jsonb_build_array(jsonb_build_object('i', 0, 'email', v_candidate_email));
  end if;

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
      -- (a completion, a top-up): read again, a few times.
      if v_attempt >= 3 then
        raise exception 'Registrations of this merchant are changing too fast, retry' using errcode = 'JM503';
      end if;
    end;
  end loop;

  -- The only error a row gets here is running out of credits.
  if p_all_or_nothing and exists (select 1 from jsonb_array_elements(v_rows) r where r ? 'error') then
    raise exception 'Not enough interview credits for every candidate: nobody was invited'
      using errcode = 'JM402';
  end if;

  -- The batch's registrations are this transaction's already (inserted or
  -- locked by app.register_batch): this waits for no one.
  if p_job_application_id is not null then
    update public.profile_interviews set job_application_id = p_job_application_id
    where id = any (array(
      select (r ->> 'profile_interview_id')::uuid from jsonb_array_elements(v_rows) r
      where r ? 'profile_interview_id'
    ));
  end if;

  return jsonb_build_object(
    'merchant_id', v_merchant.id,
    'interview_id', v_interview.interview_id,
    'position_id', v_interview.position_id,
    'interview_base_url', v_merchant.interview_base_url,
    'candidate_email', v_candidate_email,
    'rows', v_rows
  );
end;
$$;


-- invite-users' other rows: grants a team or coaching role at the merchant.
--
-- p_users holds only rows that passed validation: [{i, email, name?, role}]
-- with i the row's index in the request, emails unique case-insensitively and
-- role never 'candidate'. A person with an account gets the role at once
-- (Activated, SubMerchantAdded or CoachingAccessAdded, with a notice email); a
-- person without one gets an invitation with a one-time accept link (Invited),
-- unless one is already open, its link still valid and its inviter still able
-- to grant its role (Skipped; p_force re-sends it). A role is never lowered. Rows are independent: every row's
-- fate is decided before anything is written, so a row that fails writes
-- nothing and the others go ahead. Invitations of a merchant, and their
-- acceptance, serialize on its 'invitations' advisory lock
-- (app.merchant_lock_key), not on its row, which belongs to its credits.
--
-- An API key caller (app.caller_api_key) grants at most merchant.
--
-- Returns {merchant_id, rows: [{i, result, profile_id?, invitation_id?} | {i, error}]}.
create or replace function app.invite_members(
  p_account_id uuid,
  p_merchant_id uuid,
  p_force boolean,
  p_issued_at timestamptz,
  p_expires_at timestamptz,
  p_users jsonb,
  p_language text,
  p_email_payload jsonb
) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_merchant public.merchants%rowtype;
  v_ceiling integer;
  v_inviter_name text;
  v_plan jsonb;
  v_email_payload jsonb;
begin
  v_merchant.id := app.acting_merchant(
    p_account_id, p_merchant_id, array['merchant_owner', 'merchant']::public.member_role[]
  );
  -- A merchant's invitations serialize (with each other and with
  -- acceptances) on a lock of their own: the merchant's row belongs to its
  -- credits, which register batches take last.
  perform pg_advisory_xact_lock(app.merchant_lock_key('invitations', v_merchant.id));
  select * into v_merchant from public.merchants where id = v_merchant.id;

  -- The highest role the caller may grant: the service key and admins any,
  -- staff at most their own (so only owners grant merchant_owner), an API
  -- key up to merchant: it is no owner, and an owner it invited could mint
  -- the keys a key may not (docs/api-keys.md).
  v_ceiling := case
    when app.caller_api_key() is not null then app.role_rank('merchant')
    else app.grant_ceiling(p_account_id, v_merchant.id)
  end;
  select a.full_name into v_inviter_name from public.accounts a where a.id = p_account_id;
  v_email_payload := p_email_payload || jsonb_build_object(
    'merchant_name', v_merchant.name,
    'inviter_name', coalesce(v_inviter_name, v_merchant.name)
  );

  -- Every row's fate, decided on one snapshot taken under the merchant lock.
  with input as (
    select u.i, u.email, lower(u.email) as email_key, u.name, u.role::public.member_role as role
    from jsonb_to_recordset(p_users) as u (i integer, email text, name text, role text)
  ),
  current_state as (
    select input.*, a.id as account_id, mm.role as role_here,
      inv.id as invitation_id, inv.role as invitation_role, inv.invited_by, t.expires_at as link_expires_at,
      coalesce(elsewhere.team, false) as team_elsewhere,
      coalesce(elsewhere.coaching, false) as coaching_elsewhere
    from input
    left join lateral (
      select a.id from public.accounts a where a.email_key = input.email_key limit 1
    ) a on true
    left join lateral (
      select mm.role from public.merchant_members mm
      where mm.account_id = a.id and mm.merchant_id = v_merchant.id
      limit 1
    ) mm on true
    left join lateral (
      select bool_or(o.role in ('merchant_owner', 'merchant', 'merchant_selection')) as team,
        bool_or(o.role in ('mentor', 'user')) as coaching
      from public.merchant_members o
      where o.account_id = a.id and o.merchant_id <> v_merchant.id
    ) elsewhere on true
    left join lateral (
      select inv.id, inv.role, inv.invited_by from public.merchant_invitations inv
      where inv.merchant_id = v_merchant.id and inv.email_key = input.email_key
        and inv.accepted_at is null and inv.revoked_at is null
      limit 1
    ) inv on true
    left join lateral (
      select t.expires_at from public.invitation_tokens t
      where t.invitation_id = inv.id and t.redeemed_at is null and t.revoked_at is null
      limit 1
    ) t on true
  ),
  decided as (
    select s.*,
      case
        when app.role_rank(s.role) > v_ceiling and s.role = 'merchant_owner'
          then 'Error: Only a merchant owner or an admin can grant merchant_owner'
        when app.role_rank(s.role) > v_ceiling
          then 'Error: Cannot grant a role above your own'
        when s.account_id is not null then case
          when s.role_here is not null and app.role_rank(s.role_here) >= app.role_rank(s.role) then 'Skipped'
          when s.role_here is null and s.role in ('merchant_owner', 'merchant', 'merchant_selection')
            and s.team_elsewhere then 'SubMerchantAdded'
          when s.role_here is null and s.role in ('mentor', 'user') and s.coaching_elsewhere
            then 'CoachingAccessAdded'
          else 'Activated'
        end
        when s.invitation_id is null then 'Invited'
        when app.role_rank(s.role) > app.role_rank(s.invitation_role) then 'Invited'
        -- An open offer stands while its link works and its inviter could
        -- still grant it; otherwise it is sent again, now on the caller's authority.
        when not p_force and s.link_expires_at > now()
          and app.role_rank(s.invitation_role) <= app.grant_ceiling(s.invited_by, v_merchant.id) then 'Skipped'
        when app.role_rank(s.invitation_role) > v_ceiling
          then 'Error: Cannot re-send an invitation for a role above your own'
        else 'Invited'
      end as result
    from current_state s
  )
  select coalesce(jsonb_agg(jsonb_build_object(
      'i', d.i, 'email', d.email, 'email_key', d.email_key, 'name', d.name, 'result', d.result,
      'account_id', d.account_id, 'invitation_id', d.invitation_id, 'invitation_role', d.invitation_role,
      -- Sending an open invitation again never lowers the role it offers.
      'role', case when d.account_id is null and app.role_rank(d.invitation_role) > app.role_rank(d.role)
        then d.invitation_role else d.role end
    )), '[]'::jsonb)
  into v_plan
  from decided d;

  -- People with an account: the role now (raised, never lowered), this
  -- merchant as home when they had none (platform admins excepted), an open
  -- invitation here superseded when the role granted is at least the one it
  -- offers, and a notice email. A higher offer stays open: it may have come
  -- from above the caller, and accepting it raises the role.
  with granted as (
    select p.*,
      case when app.role_rank(p.role) >= app.role_rank(p.invitation_role) then p.invitation_id end as superseded_id
    from jsonb_to_recordset(v_plan) as p (
      i integer, name text, result text, account_id uuid, invitation_id uuid,
      invitation_role public.member_role, role public.member_role
    )
    where p.result in ('Activated', 'SubMerchantAdded', 'CoachingAccessAdded')
  ),
  members as (
    insert into public.merchant_members as mm (account_id, merchant_id, role)
    select g.account_id, v_merchant.id, g.role from granted g
    on conflict (account_id, merchant_id) do update set role = excluded.role
      where app.role_rank(excluded.role) > app.role_rank(mm.role)
  ),
  homes as (
    update public.accounts a set home_merchant_id = v_merchant.id
    where a.id = any (array(select g.account_id from granted g))
      and a.home_merchant_id is null and not a.is_platform_admin
  ),
  superseded as (
    update public.merchant_invitations inv set revoked_at = now()
    where inv.id = any (array(select g.superseded_id from granted g))
  ),
  superseded_links as (
    update public.invitation_tokens t set revoked_at = now()
    where t.invitation_id = any (array(select g.superseded_id from granted g))
      and t.redeemed_at is null and t.revoked_at is null
  ),
  superseded_emails as (
    update public.email_outbox o set status = 'cancelled'
    where o.invitation_id = any (array(select g.superseded_id from granted g)) and o.status = 'pending'
  )
  insert into public.email_outbox (merchant_id, kind, to_email, to_name, language, payload)
  select v_merchant.id, 'role_granted', a.email, coalesce(g.name, a.full_name), p_language,
    v_email_payload || jsonb_build_object('role', g.role, 'result', g.result)
  from granted g
  join public.accounts a on a.id = g.account_id;

  -- Open invitations being sent again: newest link wins, and an email still
  -- waiting to go out is replaced by the new one (one live link per
  -- invitation is a unique index, hence before the new links are minted).
  with resent as (
    select p.invitation_id from jsonb_to_recordset(v_plan) as p (result text, invitation_id uuid)
    where p.result = 'Invited' and p.invitation_id is not null
  ),
  revoked as (
    update public.invitation_tokens t set revoked_at = now()
    where t.invitation_id = any (array(select r.invitation_id from resent r))
      and t.redeemed_at is null and t.revoked_at is null
  )
  update public.email_outbox o set status = 'cancelled'
  where o.invitation_id = any (array(select r.invitation_id from resent r)) and o.status = 'pending';

  with invited as (
    select p.* from jsonb_to_recordset(v_plan) as p (
      i integer, email text, email_key text, name text, result text, invitation_id uuid, role public.member_role
    )
    where p.result = 'Invited'
  ),
  new_invitations as (
    insert into public.merchant_invitations (merchant_id, email, name, role, invited_by)
    select v_merchant.id, v.email, v.name, v.role, p_account_id from invited v
    where v.invitation_id is null
    returning id, email_key
  ),
  -- The offer as sent now is the caller's: invited_by is who stands behind it.
  updated_invitations as (
    update public.merchant_invitations inv
    set role = v.role, name = coalesce(v.name, inv.name), invited_by = p_account_id
    from invited v
    where inv.id = any (array(select v.invitation_id from invited v)) and inv.id = v.invitation_id
    returning inv.id, inv.name
  ),
  all_invited as (
    select v.*, coalesce(v.invitation_id, n.id) as id, coalesce(u.name, v.name) as to_name
    from invited v
    left join new_invitations n on n.email_key = v.email_key
    left join updated_invitations u on u.id = v.invitation_id
  ),
  links as (
    insert into public.invitation_tokens (invitation_id, issued_at, expires_at)
    select a.id, p_issued_at, p_expires_at from all_invited a
    returning jti, invitation_id
  ),
  emails as (
    insert into public.email_outbox (merchant_id, invitation_id, kind, to_email, to_name, language, payload)
    select v_merchant.id, a.id, 'role_invitation', a.email, a.to_name, p_language,
      v_email_payload || jsonb_build_object(
        'invitation_id', a.id,
        'jti', l.jti,
        'iat', extract(epoch from p_issued_at)::bigint,
        'exp', extract(epoch from p_expires_at)::bigint,
        'role', a.role
      )
    from all_invited a
    join links l on l.invitation_id = a.id
  )
  -- The plan's invitation ids, completed with the ones just created.
  select coalesce(jsonb_agg(
    case when a.id is null then p.value else p.value || jsonb_build_object('invitation_id', a.id) end
  ), '[]'::jsonb)
  into v_plan
  from jsonb_array_elements(v_plan) p
  left join all_invited a on a.i = (p.value ->> 'i')::integer;

  return jsonb_build_object(
    'merchant_id', v_merchant.id,
    'rows', (
      select coalesce(jsonb_agg(
        case when p.result like 'Error: %'
          then jsonb_build_object('i', p.i, 'error', substr(p.result, 8))
          else jsonb_build_object(
            'i', p.i, 'result', p.result, 'profile_id', p.account_id,
            -- Only while the person has no account: the invitation they can accept.
            'invitation_id', case when p.account_id is null then p.invitation_id end
          )
        end order by p.i), '[]'::jsonb)
      from jsonb_to_recordset(v_plan) as p (i integer, result text, account_id uuid, invitation_id uuid)
    )
  );
end;
$$;

-- Spends a one-time interview token; unchanged but for the registration's
-- job_application_id in what it returns.
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

-- A key as the API shows it: everything but its digest.
create function app.api_key_json(p_key public.merchant_api_keys) returns jsonb
language sql immutable
set search_path = ''
as $$
  select to_jsonb(p_key) - 'key_hash';
$$;

-- The merchant whose API keys the caller manages: for its owners (or owners
-- of a parent merchant), platform admins and the service key; never for an
-- API key, so that a leaked key cannot mint keys or revoke the others.
create function app.api_key_manager_merchant(p_account_id uuid, p_merchant_id uuid) returns uuid
language plpgsql volatile
set search_path = ''
as $$
begin
  if app.caller_api_key() is not null then
    raise exception 'API keys cannot manage API keys: use a merchant owner''s token or the service key'
      using errcode = 'JM403';
  end if;
  return app.acting_merchant(p_account_id, p_merchant_id, array['merchant_owner']::public.member_role[]);
end;
$$;

-- Creates an API key of a merchant (app.api_key_manager_merchant says for
-- whom). The caller mints the key: only its digest and prefix come here.
create function app.create_api_key(
  p_account_id uuid,
  p_merchant_id uuid,
  p_name text,
  p_prefix text,
  p_key_hash bytea,
  p_expires_at timestamptz
) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_key public.merchant_api_keys%rowtype;
begin
  v_key.merchant_id := app.api_key_manager_merchant(p_account_id, p_merchant_id);
  if p_expires_at <= now() then
    raise exception 'Must be in the future' using errcode = 'JM422', hint = 'expires_at';
  end if;
  insert into public.merchant_api_keys (merchant_id, name, prefix, key_hash, created_by, expires_at)
  values (v_key.merchant_id, p_name, p_prefix, p_key_hash, p_account_id, p_expires_at)
  returning * into v_key;
  return app.api_key_json(v_key);
end;
$$;

-- A merchant's keys, oldest first, revoked and expired ones included; for
-- the same callers as app.create_api_key.
create function app.list_api_keys(p_account_id uuid, p_merchant_id uuid) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_merchant_id uuid;
begin
  v_merchant_id := app.api_key_manager_merchant(p_account_id, p_merchant_id);
  return jsonb_build_object(
    'merchant_id', v_merchant_id,
    'api_keys', coalesce((
      select jsonb_agg(app.api_key_json(k) order by k.created_at, k.id)
      from public.merchant_api_keys k
      where k.merchant_id = v_merchant_id
    ), '[]'::jsonb)
  );
end;
$$;

-- Revokes a key, for the same callers as app.create_api_key. The row lock
-- waits for requests that are using the key right now; every request after
-- the commit is refused. Revoking a revoked key changes nothing.
create function app.revoke_api_key(p_account_id uuid, p_key_id uuid) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_key public.merchant_api_keys%rowtype;
begin
  select * into v_key from public.merchant_api_keys where id = p_key_id;
  if not found then
    raise exception 'API key not found' using errcode = 'JM404';
  end if;
  perform app.api_key_manager_merchant(p_account_id, v_key.merchant_id);
  update public.merchant_api_keys set revoked_at = coalesce(revoked_at, now())
  where id = p_key_id
  returning * into v_key;
  return app.api_key_json(v_key);
end;
$$;

revoke all on all functions in schema app from public;
