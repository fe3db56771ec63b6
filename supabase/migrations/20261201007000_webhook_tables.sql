-- Webhooks (docs/webhooks.md): a merchant's endpoints, the events that
-- happen to its registrations, and one delivery per event and subscribed
-- endpoint. Events and their deliveries are written in the transaction of
-- the change they announce (the outbox pattern of public.email_outbox), so
-- none is lost and none announces a change that rolled back. Deliveries
-- carry the same queue columns as the email outbox (status, send_after,
-- attempts, claim_id, lease_expires_at), so one dispatcher loop serves both.

create table public.webhook_endpoints (
  id uuid primary key default gen_random_uuid(),
  merchant_id uuid not null references public.merchants (id) on delete cascade,
  url text not null check (url ~ '^https?://' and length(url) <= 2048),
  description text check (length(description) <= 500),
  -- The event types it receives (e.g. 'registration.started').
  event_types text[] not null check (cardinality(event_types) > 0),
  enabled boolean not null default true,
  -- Why it was disabled: by its merchant, or automatically after failing for days.
  disabled_reason text,
  -- Standard Webhooks signing secret, 'whsec_' and base64. Kept readable, as
  -- signing needs it; shown to the merchant once, when made.
  secret text not null check (secret ~ '^whsec_[A-Za-z0-9+/]+={0,2}$'),
  -- After a rotation the old secret signs too until it expires, so receivers
  -- can switch without dropping a request.
  previous_secret text check (previous_secret ~ '^whsec_[A-Za-z0-9+/]+={0,2}$'),
  previous_secret_expires_at timestamptz,
  -- The first failed attempt since the last success: how long it has been failing.
  failing_since timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((previous_secret is null) = (previous_secret_expires_at is null)),
  check (enabled or disabled_reason is not null)
);
create index webhook_endpoints_merchant_idx on public.webhook_endpoints (merchant_id, created_at);
alter table public.webhook_endpoints enable row level security;

create table public.webhook_events (
  -- Sent as `webhook-id`: the same on every attempt and re-send of the event.
  id uuid primary key default gen_random_uuid(),
  merchant_id uuid not null references public.merchants (id) on delete cascade,
  type text not null check (type ~ '^[a-z_]+\.[a-z_]+$'),
  -- The body's `data`, complete when the event happens: a receiver needs no second call.
  payload jsonb not null,
  created_at timestamptz not null default now()
);
create index webhook_events_merchant_idx on public.webhook_events (merchant_id, created_at);
alter table public.webhook_events enable row level security;

create type public.webhook_delivery_status as enum ('pending', 'sending', 'delivered', 'failed');

create table public.webhook_deliveries (
  id uuid primary key default gen_random_uuid(),
  event_id uuid not null references public.webhook_events (id) on delete cascade,
  endpoint_id uuid not null references public.webhook_endpoints (id) on delete cascade,
  status public.webhook_delivery_status not null default 'pending',
  send_after timestamptz not null default now(),
  attempts integer not null default 0 check (attempts >= 0),
  claim_id uuid,
  lease_expires_at timestamptz,
  last_attempt_at timestamptz,
  -- The receiver's last HTTP status (null when it did not answer) and the
  -- start of its body; last_error says why an attempt failed.
  last_response_status integer,
  last_response_body text check (length(last_response_body) <= 1024),
  last_error text,
  delivered_at timestamptz,
  failed_at timestamptz,
  created_at timestamptz not null default now(),
  -- A re-send puts the same row back to pending: one row per event and endpoint.
  unique (endpoint_id, event_id),
  check ((status = 'sending') = (claim_id is not null and lease_expires_at is not null)),
  check ((status = 'delivered') = (delivered_at is not null)),
  check ((status = 'failed') = (failed_at is not null))
);
create index webhook_deliveries_due_idx on public.webhook_deliveries (send_after) where status = 'pending';
create index webhook_deliveries_lease_idx on public.webhook_deliveries (lease_expires_at) where status = 'sending';
create index webhook_deliveries_endpoint_idx on public.webhook_deliveries (endpoint_id, created_at desc, id desc);
create index webhook_deliveries_event_idx on public.webhook_deliveries (event_id);
alter table public.webhook_deliveries enable row level security;

comment on table public.webhook_endpoints is $$
A merchant's webhook receiver: where its events go, which ones, and the
secret they are signed with (Standard Webhooks).
$$;
comment on table public.webhook_events is $$
Something that happened to a merchant's registrations, candidates or
invitations, written in the transaction of the change itself.
$$;
comment on table public.webhook_deliveries is $$
An event on its way to one endpoint: a queue row claimed and leased like
public.email_outbox's, retried with backoff, kept for listing and replay.
$$;
