-- Two fixes to functions earlier migrations created; those migrations stay as
-- they were applied.
--
-- 1. register_users: a batch whose state keeps changing under it (credits or
--    registrations changed by something other than a batch, three passes in
--    a row) raises JM503, which the API answers with 503 and Retry-After,
--    instead of letting JMCRD/JMRTY escape as a 500.
-- 2. notify_email_outbox: notifies only when a message due now was queued.
--    Reminders queued for later are found by the dispatchers' poll, and a
--    transaction that notifies takes a database-wide lock at commit.
--
-- And a correction to 20261121002000_invite_users.sql's comment on
-- app.invite_members: a merchant's invitations, and their acceptance,
-- serialize on its 'invitations' advisory lock, not on its row.

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
create or replace function app.register_users(
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
      -- (a completion, a top-up): read again, a few times.
      if v_attempt >= 3 then
        raise exception 'Registrations of this merchant are changing too fast, retry' using errcode = 'JM503';
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

-- Wakes long-running dispatchers (LISTEN email_outbox) as soon as a message is
-- queued; NOTIFY is transactional, so they hear of it once it is committed.
-- Only when a row due now was queued (reminders for later are found by the
-- poll): a transaction that notifies takes a database-wide lock at commit (to
-- keep notifications in order), and the statement-level trigger also fires
-- for the zero rows a register-users batch of type "url" queues, which would
-- make every registration wait on it.
create or replace function app.notify_email_outbox() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if exists (select 1 from queued where send_after <= now()) then
    perform pg_notify('email_outbox', '');
  end if;
  return null;
end;
$$;

