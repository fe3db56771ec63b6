-- Fixes to app.invite_members and app.accept_invitation, created by
-- 20261121002000_invite_users.sql (which stays as it was applied); the
-- decisions are in docs/invite-users.md.
--
-- 1. Granting a role directly to a person with an account revokes their open
--    invitation here only when the role granted is at least the one it
--    offers. A lower grant leaves a higher offer as it is: staff giving
--    `user` used to revoke an owner's `merchant_owner` invitation.
-- 2. Its header comment: invitations serialize on the merchant's
--    'invitations' advisory lock, not on the merchant's row.
-- 3. A platform admin's home merchant is left alone by a grant and by an
--    acceptance: it is the merchant their requests act for when they name
--    none, and an admin acts for any merchant they name.
-- 4. invited_by follows the offer: an open invitation raised or sent again
--    records who did it (null for the service key), as its new email names
--    them. It used to keep the first inviter for good.
-- 5. An offer rests on its inviter's authority (app.grant_ceiling, also the
--    caller's ceiling in app.invite_members): when the inviter can no longer
--    grant the role offered (membership removed or lowered, admin rights
--    withdrawn), app.accept_invitation refuses the link with a 410, and a
--    plain invite from someone who can sends the invitation again instead of
--    skipping it.
-- 6. app.resolve_interview_ids, for invite-users to tell a candidate named
--    through an interview and through a position of it as one candidate.
-- 7. app.invite_members looks each row's account, membership, open invitation
--    and live accept link up with one index probe per row (LATERAL ... LIMIT
--    1, each matching at most one row of a unique index), and names the rows
--    it updates with `= any (array)`, an index condition. They were joins, and
--    the generic plan PL/pgSQL caches (planned for 100 rows whatever the
--    request holds) hashed every open invitation of the merchant: a one-person
--    invite cost time in proportion to them (2 ms of 3.5 at 12,500), and a
--    plan made while the tables were small walked every live accept link.

-- The interview each of p_ids names at the merchant, looked up as
-- app.registrable_interview looks one up (an interview, else a position's
-- interview); null when it names neither. invite-users groups a request's
-- candidate rows by the id each names (a position is recorded on the
-- registration) but finds duplicates by the interview.
create function app.resolve_interview_ids(p_merchant_id uuid, p_ids uuid[])
returns table (id uuid, interview_id uuid)
language sql stable
set search_path = ''
as $$
  select n.id, coalesce(i.id, p.interview_id)
  from unnest(p_ids) as n (id)
  left join public.interviews i on i.id = n.id and i.merchant_id = p_merchant_id
  left join public.positions p on p.id = n.id and p.merchant_id = p_merchant_id;
$$;

-- The highest role rank p_account_id may grant at p_merchant_id: any for the
-- service key (null) and platform admins; for staff who may invite (the
-- roles app.invite_members authorizes), their own role there, found as
-- app.acting_merchant finds it; none (0) for anyone else.
create function app.grant_ceiling(p_account_id uuid, p_merchant_id uuid) returns integer
language sql stable
set search_path = ''
as $$
  select case
    when p_account_id is null or a.is_platform_admin then app.role_rank('merchant_owner')
    when r.role in ('merchant_owner', 'merchant') then app.role_rank(r.role)
    else 0
  end
  from app.nearest_role(p_account_id, p_merchant_id) as r (role)
  left join public.accounts a on a.id = p_account_id;
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

-- Accepts an invitation for the signed-in person (p_account_id = their JWT's
-- sub, p_email = its email claim). The caller has checked the link's
-- signature and expiry; this decides, under a row lock on the link, whether it
-- is still the invitation's live one. Of concurrent calls for one link the
-- first wins and the rest see it used. The account is created on first
-- acceptance, with the inviting merchant as home unless it has one or is a
-- platform admin's; the role is granted, never lowering one the person
-- already has.
create or replace function app.accept_invitation(
  p_jti uuid,
  p_invitation_id uuid,
  p_account_id uuid,
  p_email text
) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_link public.invitation_tokens%rowtype;
  v_invitation public.merchant_invitations%rowtype;
  v_role public.member_role;
begin
  -- The lock app.invite_members plans under, so an acceptance never lands
  -- between its reading of an invitation and its writing of it.
  perform pg_advisory_xact_lock(app.merchant_lock_key('invitations', i.merchant_id))
  from public.merchant_invitations i where i.id = p_invitation_id;
  select * into v_link from public.invitation_tokens where jti = p_jti for update;
  if not found or v_link.invitation_id <> p_invitation_id then
    raise exception 'Invalid invitation token' using errcode = 'JM422', hint = 'invitation_token';
  end if;
  select * into v_invitation from public.merchant_invitations where id = v_link.invitation_id;

  if v_invitation.email_key <> lower(p_email) then
    raise exception 'This invitation was sent to a different email address' using errcode = 'JM403';
  end if;
  if v_link.redeemed_at is not null then
    raise exception 'Invitation already accepted' using errcode = 'JM410', hint = 'invitation_token';
  end if;
  if v_invitation.revoked_at is not null then
    raise exception 'Invitation revoked: access was granted directly' using errcode = 'JM410', hint = 'invitation_token';
  end if;
  if v_link.revoked_at is not null then
    raise exception 'Invitation link revoked: a newer one was sent' using errcode = 'JM410', hint = 'invitation_token';
  end if;
  if v_link.expires_at <= now() then
    raise exception 'Invitation expired' using errcode = 'JM410', hint = 'invitation_token';
  end if;
  -- The offer is only as good as its inviter's authority, checked now: staff
  -- removed or lowered since cannot still bring someone in.
  if app.role_rank(v_invitation.role) > app.grant_ceiling(v_invitation.invited_by, v_invitation.merchant_id) then
    raise exception 'Invitation withdrawn: whoever sent it can no longer grant this role'
      using errcode = 'JM410', hint = 'invitation_token';
  end if;

  begin
    insert into public.accounts as a (id, email, full_name, home_merchant_id)
    values (p_account_id, p_email, v_invitation.name, v_invitation.merchant_id)
    on conflict (id) do update
      set full_name = coalesce(a.full_name, excluded.full_name),
          home_merchant_id = case when a.is_platform_admin then a.home_merchant_id
            else coalesce(a.home_merchant_id, excluded.home_merchant_id) end;
  exception when unique_violation then
    raise exception 'Another account already uses this email address' using errcode = 'JM409';
  end;

  insert into public.merchant_members as mm (account_id, merchant_id, role)
  values (p_account_id, v_invitation.merchant_id, v_invitation.role)
  on conflict (account_id, merchant_id) do update set role = excluded.role
    where app.role_rank(excluded.role) > app.role_rank(mm.role);

  update public.invitation_tokens set redeemed_at = now() where jti = p_jti;
  update public.merchant_invitations set accepted_at = now(), accepted_by = p_account_id
    where id = v_invitation.id;

  select mm.role into v_role from public.merchant_members mm
  where mm.account_id = p_account_id and mm.merchant_id = v_invitation.merchant_id;

  return jsonb_build_object(
    'invitation_id', v_invitation.id,
    'merchant_id', v_invitation.merchant_id,
    'merchant_name', (select m.name from public.merchants m where m.id = v_invitation.merchant_id),
    'account_id', p_account_id,
    'role', v_role,
    'status', 'accepted'
  );
end;
$$;

revoke all on all functions in schema app from public;
