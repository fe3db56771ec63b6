-- app.before_deadline: the last step of every statement and transaction a
-- request runs (supabase/functions/_shared/db.ts), so that work the server
-- finishes after the request's deadline rolls back instead of committing.
--
-- A request stops waiting at its deadline (plus a second's grace) and answers
-- 503. Without this check, a statement the server ran late (the server frozen
-- or overloaded, the statement blocked on a lock) still committed: the client
-- was told to retry, and the retry registered the candidate a second time.
-- The check runs as late as a statement can run anything, right before its
-- commit; what remains is the commit itself (docs/decisions.md, "Reliability").
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

revoke all on all functions in schema app from public;
