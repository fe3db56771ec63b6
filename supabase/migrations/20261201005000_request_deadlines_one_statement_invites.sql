-- Requests under load and faults (docs/decisions.md, "Reliability"):
--
-- 1. app.before_deadline: the last step of every statement a request runs
--    (supabase/functions/_shared/db.ts), so that work the server finishes
--    after the request's deadline rolls back instead of committing. A request
--    stops waiting at its deadline (plus a second's grace) and answers 503;
--    without this check a statement the server ran late (frozen, overloaded,
--    blocked on a lock) still committed, for a client told to retry.
-- 2. app.invite_users: invite-users as one statement. It was a client-side
--    transaction of several statements (sql.begin), and postgres.js 3.4.9
--    mishandles a transaction whose connection dies mid-way (its own
--    ROLLBACK crashes the process; a session the server ended for idling in
--    its transaction can carry the dead transaction's statements into the
--    next one). Every request is now one statement; the grouping, duplicate
--    and unknown-interview checks that ran between those statements run here.

create function app.before_deadline(p_deadline timestamptz) returns boolean
language plpgsql volatile
set search_path = ''
as $$
begin
  if clock_timestamp() > p_deadline then
    raise exception 'The database did not answer in time, retry later' using errcode = 'JM503';
  end if;
  return true;
end $$;

create function app.invite_users(
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
  v_members jsonb;
  v_candidates jsonb;
  v_merchant_id uuid;
  v_rows jsonb;
  v_group record;
  v_groups integer;
  v_hint text;
  v_message text;
begin
  v_members := app.invite_members(
    p_account_id, p_merchant_id, p_force, p_issued_at, p_invitation_expires_at, p_members, p_language,
    p_email_payload
  );
  v_merchant_id := (v_members ->> 'merchant_id')::uuid;
  v_rows := v_members -> 'rows';

  -- Each candidate row with the interview its id resolves to (null: none of the merchant's) and whether
  -- an earlier row named the same person for the same interview.
  select coalesce(jsonb_agg(jsonb_build_object(
      'i', i, 'named', named, 'interview_id', interview_id, 'duplicate', duplicate, 'row', row_data
    ) order by i), '[]'::jsonb)
  into v_candidates
  from (
    select c.i, c.named, r.interview_id,
      row_number() over (
        partition by coalesce(r.interview_id, c.named), lower(c.row_data ->> 'email') order by c.i
      ) > 1 as duplicate,
      c.row_data - 'interview_id' as row_data
    from (
      select (e ->> 'i')::integer as i, (e ->> 'interview_id')::uuid as named, e as row_data
      from jsonb_array_elements(p_candidates) as e
    ) c
    left join app.resolve_interview_ids(
      v_merchant_id, array(select distinct (e ->> 'interview_id')::uuid from jsonb_array_elements(p_candidates) e)
    ) r on r.id = c.named
  ) candidates;

  v_rows := v_rows || coalesce((
    select jsonb_agg(jsonb_build_object(
      'i', c -> 'i',
      'error', case when (c ->> 'duplicate')::boolean then 'Duplicate email in request' else 'Interview not found' end
    ))
    from jsonb_array_elements(v_candidates) c
    where (c ->> 'duplicate')::boolean or c ->> 'interview_id' is null
  ), '[]'::jsonb);

  select count(distinct c ->> 'named') into v_groups
  from jsonb_array_elements(v_candidates) c
  where not (c ->> 'duplicate')::boolean and c ->> 'interview_id' is not null;
  if v_groups > 1 then
    perform pg_advisory_xact_lock(app.merchant_lock_key('credits', v_merchant_id));
  end if;

  for v_group in
    select (c ->> 'named')::uuid as named, jsonb_agg(c -> 'row' order by (c ->> 'i')::integer) as users
    from jsonb_array_elements(v_candidates) c
    where not (c ->> 'duplicate')::boolean and c ->> 'interview_id' is not null
    group by c ->> 'named' order by min((c ->> 'i')::integer)
  loop
    begin
      v_rows := v_rows || (app.register_users(
        p_account_id, v_merchant_id, v_group.named, false, true, false, false, p_issued_at,
        p_token_expires_at, v_group.users, p_language, p_email_payload, not p_force
      ) -> 'rows');
    exception when sqlstate 'JM422' then
      get stacked diagnostics v_hint = pg_exception_hint, v_message = message_text;
      if v_hint is distinct from 'interview_id' then
        raise;
      end if;
      v_rows := v_rows || (
        select jsonb_agg(jsonb_build_object('i', u -> 'i', 'error', v_message))
        from jsonb_array_elements(v_group.users) u
      );
    end;
  end loop;

  return jsonb_build_object('merchant_id', v_merchant_id, 'rows', v_rows);
end;
$$;

comment on function app.before_deadline is $$
Raises JM503 when the clock is past p_deadline, else returns true: the last
step of every statement a request runs (supabase/functions/_shared/db.ts,
the outer filter of a materialized CTE), so that work the server finishes
after the request's deadline rolls back instead of committing for a client
already told 503.
$$;

comment on function app.invite_users is $$
invite-users in one transaction: team and coaching rows through
app.invite_members (which also authorizes the caller for the merchant,
first, even with no such row), candidate rows through app.register_users,
one call per interview or position id they name.

p_members: as app.invite_members takes them. p_candidates: the candidate
rows that passed validation, [{i, interview_id, email, name?,
external_id?}] with i the row's index in the request.

A candidate named twice for one interview (also once through a position of
it) is a duplicate after its first row; a row naming no interview or
position of the merchant fails alone, before any lock is taken. Groups
register in order of their first row (credits go to earlier rows first).
A group whose interview cannot take registrations fails only its rows;
any other error rolls the whole request back. With several groups the
merchant's batch lock is taken exclusively first: one transaction holding
several batches' credit rows would otherwise break the order batches lock
in.

Returns {merchant_id, rows: [member rows as app.invite_members returns
them, candidate rows as app.register_users returns them]}.
$$;

revoke all on all functions in schema app from public;
