-- Merchant branding of emails (issue 16): a logo, a brand colour, and the invitation's subject and
-- opening paragraph per language, which the merchant's owner (or the service key) sets through
-- POST /merchant-branding. The rest of every message (the link, its expiry, the legal footer) stays the
-- deployment's: see docs/email.md, "Branding".
--
-- The API validates every field (zod, supabase/functions/_shared/email/branding.ts); the checks below
-- keep the stored shapes honest for anything else that writes here.

create function app.email_invitation_text_valid(p_texts jsonb) returns boolean
language sql immutable
set search_path = ''
as $$
  select jsonb_typeof(p_texts) = 'object' and not exists (
    select 1 from jsonb_each(p_texts) l
    where l.key !~ '^[a-z]{2,3}$'
       or jsonb_typeof(l.value) <> 'object'
       or exists (
         select 1 from jsonb_each(l.value) f
         where f.key not in ('subject', 'intro') or jsonb_typeof(f.value) <> 'string'
            or length(f.value #>> '{}') > case f.key when 'subject' then 200 else 2000 end
       )
  );
$$;

alter table public.merchants
  add column email_logo_url text
    check (email_logo_url ~ '^https://[^\s"''<>\\]+$' and length(email_logo_url) <= 2048),
  add column email_brand_color text check (email_brand_color ~ '^#[0-9a-f]{6}$'),
  add column email_invitation_text jsonb not null default '{}'
    check (app.email_invitation_text_valid(email_invitation_text));

comment on column public.merchants.email_logo_url is
  'Shown at the top of every email of the merchant; https only (webmail blocks or warns about anything else).';
comment on column public.merchants.email_brand_color is
  'The top bar and buttons of the merchant''s emails, as #rrggbb (lower case).';
comment on column public.merchants.email_invitation_text is
  '{"fr": {"subject": "...", "intro": "..."}, ...}: the invitation''s subject and opening paragraph by '
  'mojito_language_code, each optional; a language without an entry gets the shipped texts.';

comment on function app.email_invitation_text_valid is $$
Whether a value fits merchants.email_invitation_text: an object of language
codes, each an object of "subject" (at most 200 characters) and/or "intro"
(at most 2,000), both strings.
$$;

-- The request's single statement: POST /merchant-branding (contract below).
create function app.merchant_branding(p_account_id uuid, p_merchant_id uuid, p_changes jsonb)
returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_merchant_id uuid;
  v_row public.merchants%rowtype;
begin
  v_merchant_id := app.acting_merchant(
    p_account_id, p_merchant_id, array['merchant_owner']::public.member_role[]
  );
  if p_changes <> '{}'::jsonb then
    update public.merchants m set
      email_logo_url = case when p_changes ? 'logo_url' then p_changes ->> 'logo_url' else m.email_logo_url end,
      email_brand_color = case when p_changes ? 'brand_color'
        then lower(p_changes ->> 'brand_color') else m.email_brand_color end,
      email_invitation_text = case when p_changes ? 'invitation' then (
          select coalesce(jsonb_object_agg(l.key, l.value), '{}'::jsonb)
          from jsonb_each(m.email_invitation_text || (p_changes -> 'invitation')) l
          where jsonb_typeof(l.value) = 'object'
        ) else m.email_invitation_text end
    where m.id = v_merchant_id
    returning * into v_row;
  else
    select * into v_row from public.merchants where id = v_merchant_id;
  end if;
  return jsonb_build_object(
    'merchant_id', v_row.id,
    'logo_url', v_row.email_logo_url,
    'brand_color', v_row.email_brand_color,
    'invitation', v_row.email_invitation_text
  );
end;
$$;

-- As in 20261121001000_email_dispatch.sql, and each message's merchant now carries its branding.
create or replace function app.claim_emails(p_limit integer, p_lease_seconds integer, p_max_attempts integer)
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
          'interview_base_url', m.interview_base_url,
          'branding', jsonb_build_object(
            'logo_url', m.email_logo_url,
            'brand_color', m.email_brand_color,
            -- Only what this message can use: an invitation's texts in its own language.
            'invitation_text', case when c.kind = 'invitation' then m.email_invitation_text -> c.language end
          )
        )
      ) order by c.send_after, c.id)
      from claimed c join public.merchants m on m.id = c.merchant_id
    ), '[]'::jsonb)
  ) into v_result;
  return v_result;
end;
$$;

comment on function app.merchant_branding is $$
Reads and changes a merchant's branding, in one round trip. Only its owners
(at it or at a parent), platform admins, its API keys and the service key may
(app.acting_merchant with the owner role), also to read it. p_changes holds
what changes: `logo_url` and `brand_color` (null clears), `invitation` by
language (an object replaces that language's texts, null removes them); a
key left out keeps its value. Concurrent changes of different languages all
stay: the merge is made on the row as the update finds it. Returns the
branding as it is now: {merchant_id, logo_url, brand_color, invitation}.
$$;

revoke all on all functions in schema app from public;
