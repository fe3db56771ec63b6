-- app.invite_members looks each row's account, membership, open invitation
-- and live accept link up with one index probe per row. They were joins, and
-- the generic plan PL/pgSQL caches (planned for 100 rows, whatever the
-- request holds) hashed every open invitation of the merchant instead: an
-- invite-users request of one person cost time in proportion to the
-- merchant's invitations (2 ms of 3.5 at 12,500). LIMIT 1 (each lookup
-- matches at most one row: a unique index) keeps each a correlated probe,
-- as 20261130000000 did for app.register_batch. Likewise the rows it then
-- updates (superseded and re-sent invitations, their links and emails, the
-- accounts it gives a home merchant) are named with `= any (array)`, an
-- index condition: a plan made while the tables were small walked every
-- live accept link on each request. Otherwise as defined by
-- 20261130001000_invitation_fixes.sql, which stays as it was applied.

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
  -- staff at most their own (so only owners grant merchant_owner).
  v_ceiling := app.grant_ceiling(p_account_id, v_merchant.id);
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
