-- Operators' tools: failed email and a fresh project's first merchant (each
-- function's contract is its COMMENT ON, below).
--
-- Failed email: when each message failed, a page of them
-- at a time, and retrying one or all failed since a time (the email-failures
-- function, docs/email.md "Failed messages").
--
-- failed_at is kept by a trigger rather than by each function that marks a
-- message failed (app.record_email_failure, app.claim_emails for an abandoned
-- last attempt): whatever sets status 'failed' stamps it, and leaving 'failed'
-- (app.retry_email) clears it. Its WHEN clause is evaluated without calling
-- the function, so the outbox's other updates pay nothing for it.

alter table public.email_outbox add column failed_at timestamptz;

-- Messages that failed before this column existed: when they were queued is the best bound known.
update public.email_outbox set failed_at = created_at where status = 'failed';

alter table public.email_outbox
  add constraint email_outbox_failed_at_check check ((status = 'failed') = (failed_at is not null));

create index email_outbox_failed_idx on public.email_outbox (failed_at desc, id desc) where status = 'failed';

create function app.stamp_email_failure() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.failed_at := case when new.status = 'failed' then now() end;
  return new;
end;
$$;

create trigger email_outbox_stamp_failure
  before update of status on public.email_outbox
  for each row
  when ((old.status = 'failed') is distinct from (new.status = 'failed'))
  execute function app.stamp_email_failure();

create function app.list_failed_emails(
  p_limit integer,
  p_since timestamptz,
  p_merchant_id uuid,
  p_before_failed_at timestamptz,
  p_before_id uuid
)
returns jsonb
language sql stable
set search_path = ''
as $$
  with page as (
    select o.id, o.merchant_id, o.kind, o.to_email, o.language, o.attempts, o.last_error,
      o.profile_interview_id, o.invitation_id, o.created_at, o.failed_at
    from public.email_outbox o
    where o.status = 'failed'
      and (p_since is null or o.failed_at >= p_since)
      and (p_merchant_id is null or o.merchant_id = p_merchant_id)
      and (p_before_failed_at is null or (o.failed_at, o.id) < (p_before_failed_at, p_before_id))
    order by o.failed_at desc, o.id desc
    limit p_limit + 1
  ),
  numbered as (
    select p.*, row_number() over (order by p.failed_at desc, p.id desc) as n from page p
  )
  select jsonb_build_object(
    'messages', coalesce(
      (select jsonb_agg(jsonb_build_object(
          'id', n.id, 'merchant_id', n.merchant_id, 'kind', n.kind, 'to_email', n.to_email,
          'language', n.language, 'attempts', n.attempts, 'reason', n.last_error,
          'profile_interview_id', n.profile_interview_id, 'invitation_id', n.invitation_id,
          'created_at', n.created_at, 'failed_at', n.failed_at
        ) order by n.n)
       from numbered n where n.n <= p_limit),
      '[]'::jsonb),
    'next', (select jsonb_build_object('failed_at', n.failed_at, 'id', n.id)
             from numbered n where n.n = p_limit and exists (select from numbered m where m.n > p_limit))
  );
$$;

create function app.retry_failed_emails(p_id uuid, p_since timestamptz, p_merchant_id uuid)
returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_status public.email_status;
  v_retried uuid[];
begin
  if p_id is not null then
    select status into v_status from public.email_outbox where id = p_id;
    if not found then
      raise exception 'Message not found' using errcode = 'JM404', hint = 'id';
    end if;
    if not app.retry_email(p_id) then
      raise exception 'Message has not failed (status: %)', v_status using errcode = 'JM409', hint = 'id';
    end if;
    return jsonb_build_object('retried', jsonb_build_array(p_id));
  end if;
  -- Materialized: app.retry_email runs only on the rows the filter chose, whatever order the planner
  -- would evaluate the conditions in.
  with chosen as materialized (
    select o.id, o.failed_at from public.email_outbox o
    where o.status = 'failed' and o.failed_at >= p_since
      and (p_merchant_id is null or o.merchant_id = p_merchant_id)
  )
  select coalesce(array_agg(c.id order by c.failed_at, c.id), '{}') into v_retried
  from chosen c
  where app.retry_email(c.id);
  return jsonb_build_object('retried', to_jsonb(v_retried));
end;
$$;

create function app.bootstrap_merchant(
  p_merchant_name text,
  p_owner_email text,
  p_interview_credits integer,
  p_interview_name text,
  p_owner_id uuid default null
)
returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_owner_id uuid := p_owner_id;
  v_merchant_id uuid;
  v_interview_id uuid;
begin
  if v_owner_id is null and to_regclass('auth.users') is not null then
    execute 'select id from auth.users where lower(email) = lower($1)' into v_owner_id using p_owner_email;
  end if;
  if v_owner_id is null then
    raise exception 'No Supabase Auth user has the email %: create the user first, or pass p_owner_id',
      p_owner_email;
  end if;
  if exists (select from public.accounts a where a.id = v_owner_id or a.email_key = lower(p_owner_email)) then
    raise exception 'An account for % already exists: this project is bootstrapped', p_owner_email;
  end if;
  insert into public.merchants (name, interview_credits)
  values (p_merchant_name, p_interview_credits)
  returning id into v_merchant_id;
  insert into public.accounts (id, email, home_merchant_id) values (v_owner_id, p_owner_email, v_merchant_id);
  insert into public.merchant_members (account_id, merchant_id, role)
  values (v_owner_id, v_merchant_id, 'merchant_owner');
  insert into public.interviews (merchant_id, name, status)
  values (v_merchant_id, p_interview_name, 'active')
  returning id into v_interview_id;
  return jsonb_build_object('merchant_id', v_merchant_id, 'owner_id', v_owner_id, 'interview_id', v_interview_id);
end;
$$;

comment on function app.stamp_email_failure is $$
Keeps public.email_outbox.failed_at: when a row becomes 'failed', now();
when it leaves 'failed' (app.retry_email), null. A BEFORE UPDATE OF status
trigger whose WHEN clause skips every other update.
$$;

comment on function app.list_failed_emails is $$
One page of failed messages, most recently failed first, optionally only
those failed at or after p_since and of one merchant. Keyset pagination on
(failed_at, id): the page after the one that ended with (p_before_failed_at,
p_before_id). Returns {messages: [{id, merchant_id, kind, to_email, language,
attempts, reason, profile_interview_id, invitation_id, created_at,
failed_at}], next: {failed_at, id} | null}; reason is last_error.
$$;

comment on function app.retry_failed_emails is $$
Queues failed messages again through app.retry_email: the one p_id names
(JM404 when there is none, JM409 when it has not failed), or every message
failed at or after p_since (of one merchant when p_merchant_id is given).
Returns {retried: [ids]}. A message retried concurrently is retried once:
app.retry_email changes only a row still 'failed'.
$$;

comment on function app.bootstrap_merchant is $$
The first merchant of a fresh project, its owner and an interview, in one
transaction (README "Deploying to Supabase"):

  select app.bootstrap_merchant('Acme Recruiting', 'owner@acme.com', 1000, 'Backend screening');

The owner signs in through Supabase Auth, so their account's id is their
auth user's id: given as p_owner_id, or else looked up by email in
auth.users (create the user first, e.g. Authentication > Add user). A second
run for the same owner email is refused: the account exists. Returns
{merchant_id, owner_id, interview_id}.
$$;

comment on column public.email_outbox.failed_at is $$
When the message became 'failed' (null in any other status); for messages
failed before this column existed, when they were queued.
$$;

revoke all on all functions in schema app from public;
