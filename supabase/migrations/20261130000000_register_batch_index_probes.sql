-- app.register_batch reaches every table through its indexes, one probe per
-- batch row, whatever the planner's statistics say. PL/pgSQL caches a generic
-- plan per statement, planned for 100 batch rows, and the planner is free to
-- turn a join of the batch with a table around:
--
-- - the lookups of each row's profile and open registration were flattened
--   into a hash join over every candidate profile of the database (2 ms of a
--   3.5 ms single-user registration at 24,000 profiles); LIMIT 1 (each
--   matches at most one row: a unique index) keeps them correlated probes;
-- - revoking the live tokens of reused registrations walked the whole live
--   token index when the plan was made on small tables (5 ms at 16,000
--   tokens, on every request until autovacuum analyzed the table); that
--   statement, cancelling superseded invitations, updating profiles and
--   queueing invitations now name their rows with `= any (array)`, which is
--   an index condition.
--
-- And it runs on cached generic plans only: PL/pgSQL plans each statement for
-- the values of its first calls and then keeps a generic plan when that costs
-- about as much; for the statement that locks reused registrations it never
-- did, so it was planned anew on every call (120 us of the 650 us a
-- single-user registration spends in the database). The generic plans are
-- index-driven, as above, whatever the batch size.
--
-- Results are unchanged; earlier migrations stay as they were applied.

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
create or replace function app.register_batch(
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
  -- for every row that gets a credit or needs none. Lookups are LATERAL with
  -- LIMIT 1 (each matches at most one row: a unique index) so the planner
  -- cannot flatten them into a join: one index probe per row, whatever the
  -- size of the tables.
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
      limit 1
    ) p on true
    left join lateral (
      select pi.id from public.profile_interviews pi
      where pi.profile_id = p.id and pi.interview_id = p_interview_id
        and pi.is_test = p_is_test and pi.status in ('registered', 'started')
      limit 1
    ) pi on true
  ),
  profiles as (
    insert into public.candidate_profiles as p (merchant_id, email, name, external_id)
    select p_merchant.id, r.email, r.name, r.external_id
    from ranked r
    where p_credit_budget is null or not r.needs_credit or r.credit_rank <= p_credit_budget
    order by r.email_key
    on conflict (merchant_id, email_key) do update
      set name = case when p_skip_invited then p.name else coalesce(excluded.name, p.name) end,
          external_id = case when p_skip_invited then p.external_id
            else coalesce(excluded.external_id, p.external_id) end,
          updated_at = case when p_skip_invited then p.updated_at else now() end
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

  -- Skips are decided: the rows that go ahead update the profiles the upsert
  -- only locked.
  if p_skip_invited then
    update public.candidate_profiles p
    set name = coalesce(r.name, p.name),
        external_id = coalesce(r.external_id, p.external_id),
        updated_at = now()
    from unnest(v_rows) r
    where p.id = any (array(select r.profile_id from unnest(v_rows) r where r.error is null))
      and p.id = r.profile_id and r.error is null
      and (p.name is distinct from coalesce(r.name, p.name)
        or p.external_id is distinct from coalesce(r.external_id, p.external_id));
  end if;

  -- Newest link wins: reused registrations' live tokens are revoked before
  -- the new ones are minted (one live token per registration is a unique
  -- index), and a fresh invitation supersedes one still waiting to go out.
  with registrations as materialized (
    select array(
      select r.registration_id from unnest(v_rows) r where r.error is null and not r.is_new
    ) as ids
  ),
  revoked as (
    update public.interview_tokens t set revoked_at = now()
    where t.profile_interview_id = any ((select ids from registrations)::uuid[])
      and t.redeemed_at is null and t.revoked_at is null
  )
  update public.email_outbox o set status = 'cancelled'
  where p_send_invitation and o.profile_interview_id = any ((select ids from registrations)::uuid[])
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
      and p.id = any (array(select r.profile_id from unnest(v_rows) r where r.error is null))
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

alter function app.register_batch(
  public.merchants, uuid, uuid, text, boolean, boolean, boolean, boolean,
  timestamptz, timestamptz, jsonb, text, jsonb, boolean, integer
) set plan_cache_mode = force_generic_plan;
