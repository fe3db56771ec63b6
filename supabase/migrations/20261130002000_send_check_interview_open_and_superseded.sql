-- The send-time check (app.check_emails) now also stops two claimed messages
-- it used to send:
--
-- 1. An invitation or reminder for an interview that can no longer be taken
--    (archived, or past interview_available_till): its link would only get a
--    409 from the redemption. Only the claimed message is cancelled, not the
--    rest of the registration's chain: each later message is checked in its
--    turn, so reminders still go out if the interview is reopened, and the
--    check keeps to rows in 'sending' (the lock order in
--    20261121001000_email_dispatch.sql).
-- 2. An invitation superseded by a newer one of the same registration. A new
--    invitation cancels only the pending ones; one already claimed, waiting
--    for its slot, passed the check because the new link is live, and the
--    candidate got two invitations.
--
-- Otherwise as defined by 20261122001000_role_invitation_send_check.sql.

-- Of the claimed messages p_ids, returns those still wanted with the link an
-- invitation or reminder is to carry, and cancels the others with the reason
-- (cancelled = true); a message the claim no longer holds is not returned.
-- Invitations and reminders are wanted while their registration is open, its
-- interview can still be taken (app.interview_is_open, as a redemption
-- requires) and it has a live interview link (not used, revoked or expired);
-- a reminder only while the interview has not been started, an invitation
-- only while no newer invitation of the registration is queued or sent.
-- Their link is the one live now: the claims of the registration's live
-- token, which a registration again since the claim has replaced. A role
-- invitation is wanted while its invitation is open and the link it carries
-- is still the live one. A cancelled message's attempt is not counted: it
-- was never tried.
--
-- Reads the registration and the invitation without locking them: a change
-- that commits after this statement began is the window docs/email.md
-- describes.
create or replace function app.check_emails(p_ids uuid[], p_claim_id uuid)
returns table (id uuid, cancelled boolean, link jsonb)
language sql volatile
set search_path = ''
as $$
  with state as (
    select o.id,
      case
        when o.kind::text = 'role_invitation' then
          case
            when inv.accepted_at is not null then 'The invitation was already accepted'
            when inv.revoked_at is not null then 'The invitation was revoked: access was granted directly'
            when it.jti is null or it.redeemed_at is not null or it.revoked_at is not null
              then 'The accept link was replaced by a newer one'
            when it.expires_at <= now() then 'The accept link has expired'
          end
        when o.kind not in ('invitation', 'reminder') then null
        when pi.status is null or pi.status not in ('registered', 'started') then 'Registration is no longer open'
        when o.kind = 'reminder' and pi.status = 'started' then 'The interview was already started'
        when not app.interview_is_open(i.status, i.interview_available_till, pi.is_test)
          then 'The interview is no longer available'
        when t.jti is null then 'The interview link was already used, revoked or has expired'
        -- Each invitation is queued with a link of its own and revokes the ones before it, so one whose
        -- link is still live is the newest. Otherwise the newest is the one holding the live link, or
        -- (a registration without an invitation replaced that link too) the one queued last.
        when o.kind = 'invitation' and (o.payload ->> 'jti')::uuid is distinct from t.jti and exists (
          select 1 from public.email_outbox n
          where n.profile_interview_id = o.profile_interview_id and n.kind = 'invitation' and n.id <> o.id
            and n.status in ('pending', 'sending', 'sent')
            and ((n.payload ->> 'jti')::uuid = t.jti or n.created_at > o.created_at)
        ) then 'Superseded by a newer invitation'
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
    left join public.interviews i on i.id = pi.interview_id
    left join public.interview_tokens t
      on t.profile_interview_id = pi.id and t.redeemed_at is null and t.revoked_at is null
     and t.expires_at > now()
    left join public.merchant_invitations inv
      on inv.id = o.invitation_id and o.kind::text = 'role_invitation'
    left join public.invitation_tokens it
      on it.jti = (o.payload ->> 'jti')::uuid and it.invitation_id = o.invitation_id
     and o.kind::text = 'role_invitation'
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
