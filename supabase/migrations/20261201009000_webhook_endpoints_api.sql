-- The webhook-endpoints function (docs/webhook-endpoints.md): a merchant's
-- owner, admins, the service key and the merchant's API keys create, list,
-- change, disable, delete and re-key its endpoints, send one a test event,
-- list its deliveries and send them again. One function per request; each
-- authorizes its caller (app.webhook_endpoint_merchant) in the statement that
-- does the work. The function mints secrets and checks URLs (DNS) before the
-- call; what must hold under concurrency (the cap on endpoints per merchant,
-- which deliveries a replay takes back) is decided here, with an index for
-- replaying what failed since a time.

-- Replaying an endpoint's deliveries that failed since a time finds them
-- without reading the ones that went through.
create index webhook_deliveries_failed_idx on public.webhook_deliveries (endpoint_id, failed_at, id)
  where status = 'failed';

-- What the API shows of an endpoint: never a secret, only until when the
-- previous one (after a rotation) still signs.
create function app.webhook_endpoint_json(p_endpoint public.webhook_endpoints) returns jsonb
language sql immutable
set search_path = ''
as $$
  select to_jsonb(p_endpoint) - 'secret' - 'previous_secret';
$$;

comment on function app.webhook_endpoint_json is $$
An endpoint as the API shows it: everything but its secrets (the signing
secret is shown once, by the call that makes it).
$$;

create function app.webhook_endpoint_merchant(p_account_id uuid, p_merchant_id uuid) returns uuid
language plpgsql volatile
set search_path = ''
as $$
begin
  return app.acting_merchant(p_account_id, p_merchant_id, array['merchant_owner']::public.member_role[]);
end;
$$;

comment on function app.webhook_endpoint_merchant is $$
The merchant whose webhook endpoints the caller manages: its owners (or an
owner of a parent merchant, naming it), platform admins, the service key
naming it, and its API keys (app.acting_merchant). Staff may not: an
endpoint receives every candidate's email and external id.
$$;

create function app.webhook_endpoint_of(
  p_account_id uuid,
  p_merchant_id uuid,
  p_id uuid,
  p_for_update boolean default true
) returns public.webhook_endpoints
language plpgsql volatile
set search_path = ''
as $$
declare
  v_merchant_id uuid := app.webhook_endpoint_merchant(p_account_id, p_merchant_id);
  v_endpoint public.webhook_endpoints%rowtype;
begin
  if p_for_update then
    select * into v_endpoint from public.webhook_endpoints
    where id = p_id and merchant_id = v_merchant_id
    for update;
  else
    select * into v_endpoint from public.webhook_endpoints
    where id = p_id and merchant_id = v_merchant_id;
  end if;
  if not found then
    raise exception 'Webhook endpoint not found' using errcode = 'JM404';
  end if;
  return v_endpoint;
end;
$$;

comment on function app.webhook_endpoint_of is $$
The endpoint p_id of the merchant the caller manages
(app.webhook_endpoint_merchant), locked for the rest of the transaction
unless p_for_update is false (reads); a 404 when that merchant has no such
endpoint (another merchant's included).
$$;

create function app.create_webhook_endpoint(
  p_account_id uuid,
  p_merchant_id uuid,
  p_url text,
  p_event_types text[],
  p_description text,
  p_secret text,
  p_max_endpoints integer
) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints%rowtype;
begin
  v_endpoint.merchant_id := app.webhook_endpoint_merchant(p_account_id, p_merchant_id);
  -- Concurrent creates for one merchant count one after the other.
  perform pg_advisory_xact_lock(app.merchant_lock_key('webhook_endpoints', v_endpoint.merchant_id));
  if (select count(*) from public.webhook_endpoints where merchant_id = v_endpoint.merchant_id)
      >= p_max_endpoints then
    raise exception 'A merchant has at most % webhook endpoints: delete one first', p_max_endpoints
      using errcode = 'JM409';
  end if;
  insert into public.webhook_endpoints (merchant_id, url, event_types, description, secret)
  values (v_endpoint.merchant_id, p_url, p_event_types, p_description, p_secret)
  returning * into v_endpoint;
  return app.webhook_endpoint_json(v_endpoint) || jsonb_build_object('secret', v_endpoint.secret);
end;
$$;

comment on function app.create_webhook_endpoint is $$
Creates a webhook endpoint of the merchant the caller manages, enabled,
with the signing secret the caller minted, which only this answer shows. A
merchant has at most p_max_endpoints (JM409 beyond): creates for one
merchant serialize on its 'webhook_endpoints' advisory lock, so concurrent
ones never pass the cap.
$$;

create function app.list_webhook_endpoints(p_account_id uuid, p_merchant_id uuid) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_merchant_id uuid := app.webhook_endpoint_merchant(p_account_id, p_merchant_id);
begin
  return jsonb_build_object(
    'merchant_id', v_merchant_id,
    'webhook_endpoints', coalesce((
      select jsonb_agg(app.webhook_endpoint_json(e) order by e.created_at, e.id)
      from public.webhook_endpoints e
      where e.merchant_id = v_merchant_id
    ), '[]'::jsonb)
  );
end;
$$;

comment on function app.list_webhook_endpoints is $$
The merchant's webhook endpoints, oldest first, disabled ones included;
never a secret.
$$;

create function app.get_webhook_endpoint(p_account_id uuid, p_merchant_id uuid, p_id uuid) returns jsonb
language sql volatile
set search_path = ''
as $$
  select app.webhook_endpoint_json(app.webhook_endpoint_of(p_account_id, p_merchant_id, p_id, false));
$$;

comment on function app.get_webhook_endpoint is $$
One webhook endpoint of the merchant the caller manages; never a secret.
$$;

create function app.update_webhook_endpoint(
  p_account_id uuid,
  p_merchant_id uuid,
  p_id uuid,
  p_changes jsonb
) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints%rowtype := app.webhook_endpoint_of(p_account_id, p_merchant_id, p_id);
begin
  update public.webhook_endpoints set
    url = case when p_changes ? 'url' then p_changes ->> 'url' else url end,
    event_types = case when p_changes ? 'event_types'
      then array(select jsonb_array_elements_text(p_changes -> 'event_types')) else event_types end,
    description = case when p_changes ? 'description' then p_changes ->> 'description' else description end,
    updated_at = now()
  where id = v_endpoint.id
  returning * into v_endpoint;
  return app.webhook_endpoint_json(v_endpoint);
end;
$$;

comment on function app.update_webhook_endpoint is $$
Changes an endpoint's url, event_types and description: the keys p_changes
has (a null description clears it); the others stay. Deliveries already
queued keep going to the endpoint, at its new url.
$$;

create function app.set_webhook_endpoint_enabled(
  p_account_id uuid,
  p_merchant_id uuid,
  p_id uuid,
  p_enabled boolean
) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints%rowtype := app.webhook_endpoint_of(p_account_id, p_merchant_id, p_id);
begin
  if v_endpoint.enabled is distinct from p_enabled then
    update public.webhook_endpoints set
      enabled = p_enabled,
      disabled_reason = case when p_enabled then null else 'Disabled through the API' end,
      failing_since = case when p_enabled then null else failing_since end,
      updated_at = now()
    where id = v_endpoint.id
    returning * into v_endpoint;
  end if;
  return app.webhook_endpoint_json(v_endpoint);
end;
$$;

comment on function app.set_webhook_endpoint_enabled is $$
Disables an endpoint (disabled_reason 'Disabled through the API') or
enables it again, clearing the reason and failing_since, so an endpoint
that was disabled for failing gets its days of retries afresh. Asking for
the state it is in changes nothing.
$$;

create function app.delete_webhook_endpoint(p_account_id uuid, p_merchant_id uuid, p_id uuid) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints%rowtype := app.webhook_endpoint_of(p_account_id, p_merchant_id, p_id);
begin
  delete from public.webhook_endpoints where id = v_endpoint.id;
  return app.webhook_endpoint_json(v_endpoint);
end;
$$;

comment on function app.delete_webhook_endpoint is $$
Deletes an endpoint and its deliveries (pending ones are never sent); the
events stay. Returns the endpoint as it was.
$$;

create function app.rotate_webhook_endpoint_secret(
  p_account_id uuid,
  p_merchant_id uuid,
  p_id uuid,
  p_secret text,
  p_grace_seconds integer
) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints%rowtype := app.webhook_endpoint_of(p_account_id, p_merchant_id, p_id);
begin
  update public.webhook_endpoints set
    secret = p_secret,
    previous_secret = case when p_grace_seconds > 0 then secret end,
    previous_secret_expires_at = case when p_grace_seconds > 0
      then now() + make_interval(secs => p_grace_seconds) end,
    updated_at = now()
  where id = v_endpoint.id
  returning * into v_endpoint;
  return app.webhook_endpoint_json(v_endpoint) || jsonb_build_object('secret', v_endpoint.secret);
end;
$$;

comment on function app.rotate_webhook_endpoint_secret is $$
Gives an endpoint the new signing secret p_secret (minted by the caller,
shown only in this answer). The current secret becomes previous_secret and
keeps signing beside the new one for p_grace_seconds; with 0 it stops at
once. A secret that was still in its grace period is dropped: only the
latest previous secret is kept.
$$;

create function app.send_webhook_test_event(p_account_id uuid, p_merchant_id uuid, p_id uuid) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints%rowtype := app.webhook_endpoint_of(p_account_id, p_merchant_id, p_id);
  v_event public.webhook_events%rowtype;
  v_delivery public.webhook_deliveries%rowtype;
begin
  if not v_endpoint.enabled then
    raise exception 'Webhook endpoint is disabled: enable it first' using errcode = 'JM409';
  end if;
  insert into public.webhook_events (merchant_id, type, payload)
  values (v_endpoint.merchant_id, 'webhook.test',
    jsonb_build_object('merchant_id', v_endpoint.merchant_id, 'endpoint_id', v_endpoint.id))
  returning * into v_event;
  insert into public.webhook_deliveries (event_id, endpoint_id)
  values (v_event.id, v_endpoint.id)
  returning * into v_delivery;
  return jsonb_build_object(
    'event_id', v_event.id,
    'event_type', v_event.type,
    'delivery_id', v_delivery.id,
    'endpoint_id', v_endpoint.id,
    'created_at', v_event.created_at
  );
end;
$$;

comment on function app.send_webhook_test_event is $$
Queues a 'webhook.test' event for one enabled endpoint, whatever types it
subscribes to: the event (data: merchant_id, endpoint_id) and its one
pending delivery, sent like any other.
$$;

create function app.webhook_delivery_json(
  p_delivery public.webhook_deliveries,
  p_event_type text
) returns jsonb
language sql immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_delivery.id,
    'event_id', p_delivery.event_id,
    'event_type', p_event_type,
    'status', p_delivery.status,
    'attempts', p_delivery.attempts,
    'next_attempt_at', case when p_delivery.status = 'pending' then p_delivery.send_after end,
    'last_attempt_at', p_delivery.last_attempt_at,
    'last_response_status', p_delivery.last_response_status,
    'last_response_body', p_delivery.last_response_body,
    'last_error', p_delivery.last_error,
    'delivered_at', p_delivery.delivered_at,
    'failed_at', p_delivery.failed_at,
    'created_at', p_delivery.created_at
  );
$$;

comment on function app.webhook_delivery_json is $$
A delivery as the API shows it, with its event's type; next_attempt_at only
while it is pending.
$$;

create function app.list_webhook_deliveries(
  p_account_id uuid,
  p_merchant_id uuid,
  p_endpoint_id uuid,
  p_status public.webhook_delivery_status,
  p_limit integer,
  p_after_created_at timestamptz,
  p_after_id uuid
) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints%rowtype :=
    app.webhook_endpoint_of(p_account_id, p_merchant_id, p_endpoint_id, false);
  v_page jsonb;
begin
  with page as (
    select d, e.type
    from public.webhook_deliveries d
    join public.webhook_events e on e.id = d.event_id
    where d.endpoint_id = v_endpoint.id
      and (p_status is null or d.status = p_status)
      and (p_after_id is null or (d.created_at, d.id) < (p_after_created_at, p_after_id))
    order by d.created_at desc, d.id desc
    limit p_limit + 1
  ),
  numbered as (
    select page.*, row_number() over (order by (page.d).created_at desc, (page.d).id desc) as n from page
  )
  select jsonb_build_object(
    'deliveries', coalesce(
      jsonb_agg(app.webhook_delivery_json(d, type) order by n) filter (where n <= p_limit), '[]'::jsonb
    ),
    'next', (
      select jsonb_build_object('created_at', (x.d).created_at, 'id', (x.d).id)
      from numbered x where x.n = p_limit and exists (select 1 from numbered y where y.n > p_limit)
    )
  ) into v_page
  from numbered;
  return v_page;
end;
$$;

comment on function app.list_webhook_deliveries is $$
A page of an endpoint's deliveries, newest first (created_at, then id),
only those in p_status when given, after the row (p_after_created_at,
p_after_id) when given. Returns {deliveries, next}: next names the page's
last row when more follow, else null.
$$;

create function app.replay_webhook_deliveries(
  p_account_id uuid,
  p_merchant_id uuid,
  p_endpoint_id uuid,
  p_delivery_id uuid,
  p_event_id uuid,
  p_failed_since timestamptz,
  p_limit integer
) returns jsonb
language plpgsql volatile
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints%rowtype :=
    app.webhook_endpoint_of(p_account_id, p_merchant_id, p_endpoint_id);
  v_delivery public.webhook_deliveries%rowtype;
  v_replayed uuid[];
  v_more boolean := false;
begin
  if not v_endpoint.enabled then
    raise exception 'Webhook endpoint is disabled: enable it first' using errcode = 'JM409';
  end if;

  if p_failed_since is null then
    select * into v_delivery from public.webhook_deliveries
    where endpoint_id = v_endpoint.id
      and (id = p_delivery_id or event_id = p_event_id)
    for update;
    if not found then
      raise exception 'Delivery not found' using errcode = 'JM404',
        hint = case when p_delivery_id is null then 'event_id' else 'delivery_id' end;
    end if;
    if v_delivery.status = 'sending' then
      raise exception 'Delivery is being sent right now: list it again to see how it went'
        using errcode = 'JM409';
    end if;
  end if;

  -- A dispatcher's claim takes rows with SKIP LOCKED: a row it holds is
  -- 'sending' and is left out, a row this takes it does not see.
  with picked as (
    select d.id from public.webhook_deliveries d
    where d.endpoint_id = v_endpoint.id
      and case when p_failed_since is null then d.id = v_delivery.id
        else d.status = 'failed' and d.failed_at >= p_failed_since end
    order by d.failed_at, d.id
    limit p_limit
    for update
  ),
  reset as (
    update public.webhook_deliveries d set
      status = 'pending',
      send_after = now(),
      attempts = 0,
      claim_id = null,
      lease_expires_at = null,
      delivered_at = null,
      failed_at = null
    from picked
    where d.id = picked.id
    returning d.id, d.created_at
  )
  select coalesce(array_agg(id order by created_at, id), '{}') into v_replayed from reset;
  if p_failed_since is not null and cardinality(v_replayed) = p_limit then
    v_more := exists (
      select 1 from public.webhook_deliveries
      where endpoint_id = v_endpoint.id and status = 'failed' and failed_at >= p_failed_since
    );
  end if;
  -- Wake the dispatchers as a queued delivery does (app.notify_webhook_deliveries fires on inserts only).
  if cardinality(v_replayed) > 0 then
    perform pg_notify('webhook_deliveries', '');
  end if;

  return jsonb_build_object('endpoint_id', v_endpoint.id, 'replayed', to_jsonb(v_replayed), 'more', v_more);
end;
$$;

comment on function app.replay_webhook_deliveries is $$
Sends deliveries of an enabled endpoint again: the one p_delivery_id or
p_event_id names (unless it is being sent right now: JM409), or those that
failed at or after p_failed_since, at most p_limit of them, the earliest
failures first (so a call stays within the request's deadline and answer
size; more says whether failed ones remain: calling again takes them, as the
replayed ones are no longer failed). Each goes back to pending, due now,
with its attempts counted from zero and its event, so its webhook-id,
unchanged; the last response stays on it until the next attempt. Wakes the
dispatchers (NOTIFY webhook_deliveries) when any was replayed. Returns
{endpoint_id, replayed: the delivery ids, oldest first, more}.
$$;

revoke all on all functions in schema app from public;
