-- Core schema: merchants and their staff, interviews and positions, candidate
-- profiles, registrations, one-time interview tokens and the email outbox.
--
-- The edge functions connect as the database owner, so RLS (enabled on every
-- table, with no policies) keeps the tables closed to PostgREST's anon and
-- authenticated roles on a real Supabase project: all access goes through the
-- functions.

create type public.member_role as enum (
  'merchant_owner', 'merchant', 'merchant_selection', 'mentor', 'user', 'candidate'
);

create type public.interview_status as enum (
  'draft', 'active', 'archived', 'deleted', 'preparing', 'completed'
);

create type public.registration_status as enum ('registered', 'started', 'completed', 'cancelled');

create table public.merchants (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  parent_merchant_id uuid references public.merchants (id),
  interview_credits integer not null default 0 check (interview_credits >= 0),
  -- The merchant's own interview domain (e.g. https://interviews.acme.com); null uses the deployment default.
  interview_base_url text check (interview_base_url ~ '^https?://'),
  email_from_name text,
  email_reply_to text,
  created_at timestamptz not null default now(),
  check (parent_merchant_id is distinct from id)
);
create index merchants_parent_idx on public.merchants (parent_merchant_id);

-- A person who signs in (auth.users on a real project: id is the JWT's sub).
create table public.accounts (
  id uuid primary key,
  email text not null,
  email_key text generated always as (lower(email)) stored unique,
  full_name text,
  is_platform_admin boolean not null default false,
  -- The merchant acted for when a request names none.
  home_merchant_id uuid references public.merchants (id),
  created_at timestamptz not null default now()
);

create table public.merchant_members (
  account_id uuid not null references public.accounts (id) on delete cascade,
  merchant_id uuid not null references public.merchants (id) on delete cascade,
  role public.member_role not null,
  created_at timestamptz not null default now(),
  primary key (account_id, merchant_id)
);
create index merchant_members_merchant_idx on public.merchant_members (merchant_id);

-- interview_def_set
create table public.interviews (
  id uuid primary key default gen_random_uuid(),
  merchant_id uuid not null references public.merchants (id),
  name text not null,
  status public.interview_status not null default 'draft',
  interview_available_till timestamptz,
  created_at timestamptz not null default now()
);
create index interviews_merchant_idx on public.interviews (merchant_id);

-- position_def_set: a job position that points at the interview candidates take.
create table public.positions (
  id uuid primary key default gen_random_uuid(),
  merchant_id uuid not null references public.merchants (id),
  name text not null,
  interview_id uuid not null references public.interviews (id),
  created_at timestamptz not null default now()
);
create index positions_merchant_idx on public.positions (merchant_id);

create table public.candidate_profiles (
  id uuid primary key default gen_random_uuid(),
  merchant_id uuid not null references public.merchants (id),
  email text not null check (email <> ''),
  email_key text generated always as (lower(email)) stored,
  name text,
  external_id text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (merchant_id, email_key)
);

-- profile_interview: one candidate's registration for one interview.
create table public.profile_interviews (
  id uuid primary key default gen_random_uuid(),
  merchant_id uuid not null references public.merchants (id),
  profile_id uuid not null references public.candidate_profiles (id),
  interview_id uuid not null references public.interviews (id),
  position_id uuid references public.positions (id),
  is_test boolean not null,
  status public.registration_status not null default 'registered',
  -- Whether this registration consumed one of the merchant's interview credits.
  credit_spent boolean not null,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  check (not (is_test and credit_spent))
);
-- At most one open registration per candidate, interview and test flag: the
-- backstop that makes reuse race-free even without the merchant lock.
create unique index profile_interviews_one_open_idx
  on public.profile_interviews (profile_id, interview_id, is_test)
  where status in ('registered', 'started');
create index profile_interviews_merchant_idx on public.profile_interviews (merchant_id);

-- The claims of every interview token ever minted. The token itself is never
-- stored: HS256 over the same claims yields the same token again.
create table public.interview_tokens (
  jti uuid primary key default gen_random_uuid(),
  profile_interview_id uuid not null references public.profile_interviews (id),
  issued_at timestamptz not null,
  expires_at timestamptz not null,
  hide_menu boolean not null default false,
  hide_iframe boolean not null default false,
  redeemed_at timestamptz,
  revoked_at timestamptz,
  check (expires_at > issued_at),
  check (redeemed_at is null or revoked_at is null)
);
-- Newest link wins: at most one live token per registration.
create unique index interview_tokens_one_live_idx
  on public.interview_tokens (profile_interview_id)
  where redeemed_at is null and revoked_at is null;

create type public.email_kind as enum ('invitation', 'reminder', 'completion');
create type public.email_status as enum ('pending', 'sending', 'sent', 'failed', 'cancelled');

-- Transactional outbox: a row is written in the same transaction as the
-- registration it belongs to, and a dispatcher delivers it.
create table public.email_outbox (
  id uuid primary key default gen_random_uuid(),
  merchant_id uuid not null references public.merchants (id),
  profile_interview_id uuid references public.profile_interviews (id),
  kind public.email_kind not null,
  to_email text not null,
  to_name text,
  language text not null default 'en',
  -- Everything the template needs that is not derivable from the registration.
  payload jsonb not null default '{}'::jsonb,
  status public.email_status not null default 'pending',
  send_after timestamptz not null default now(),
  attempts integer not null default 0 check (attempts >= 0),
  last_error text,
  created_at timestamptz not null default now(),
  sent_at timestamptz
);
create index email_outbox_due_idx on public.email_outbox (send_after) where status = 'pending';
create index email_outbox_registration_idx on public.email_outbox (profile_interview_id);

alter table public.merchants enable row level security;
alter table public.accounts enable row level security;
alter table public.merchant_members enable row level security;
alter table public.interviews enable row level security;
alter table public.positions enable row level security;
alter table public.candidate_profiles enable row level security;
alter table public.profile_interviews enable row level security;
alter table public.interview_tokens enable row level security;
alter table public.email_outbox enable row level security;
