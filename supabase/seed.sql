-- Demo data with fixed ids (listed in README "Seed data"), so any client can
-- sign its own JWT for a seeded user. Idempotent: safe to apply on every start.

insert into public.merchants (id, name, parent_merchant_id, interview_credits, email_from_name, email_reply_to) values
  ('a0000000-0000-4000-8000-000000000001', 'Acme Recruiting', null, 100000, 'Acme Talent Team', 'talent@acme.example'),
  ('a0000000-0000-4000-8000-000000000002', 'Acme Europe (sub-merchant of Acme)', 'a0000000-0000-4000-8000-000000000001', 1000, null, null),
  ('a0000000-0000-4000-8000-000000000003', 'Globex (unrelated)', null, 1000, null, null),
  ('a0000000-0000-4000-8000-000000000004', 'Initech (no credits left)', null, 0, null, null)
on conflict (id) do nothing;

insert into public.accounts (id, email, full_name, is_platform_admin, home_merchant_id) values
  ('b0000000-0000-4000-8000-000000000001', 'admin@platform.example', 'Platform Admin', true, null),
  ('b0000000-0000-4000-8000-000000000002', 'owner@acme.example', 'Olivia Owner', false, 'a0000000-0000-4000-8000-000000000001'),
  ('b0000000-0000-4000-8000-000000000003', 'staff@acme.example', 'Sam Staff', false, 'a0000000-0000-4000-8000-000000000001'),
  ('b0000000-0000-4000-8000-000000000004', 'staff@acme-europe.example', 'Eva Europe', false, 'a0000000-0000-4000-8000-000000000002'),
  ('b0000000-0000-4000-8000-000000000005', 'selection@acme.example', 'Selma Selection', false, 'a0000000-0000-4000-8000-000000000001'),
  ('b0000000-0000-4000-8000-000000000006', 'mentor@acme.example', 'Milo Mentor', false, 'a0000000-0000-4000-8000-000000000001'),
  ('b0000000-0000-4000-8000-000000000007', 'owner@globex.example', 'Gus Globex', false, 'a0000000-0000-4000-8000-000000000003'),
  ('b0000000-0000-4000-8000-000000000008', 'owner@initech.example', 'Ines Initech', false, 'a0000000-0000-4000-8000-000000000004')
on conflict (id) do nothing;

insert into public.merchant_members (account_id, merchant_id, role) values
  ('b0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 'merchant_owner'),
  ('b0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', 'merchant'),
  ('b0000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000002', 'merchant'),
  ('b0000000-0000-4000-8000-000000000005', 'a0000000-0000-4000-8000-000000000001', 'merchant_selection'),
  ('b0000000-0000-4000-8000-000000000006', 'a0000000-0000-4000-8000-000000000001', 'mentor'),
  ('b0000000-0000-4000-8000-000000000007', 'a0000000-0000-4000-8000-000000000003', 'merchant_owner'),
  ('b0000000-0000-4000-8000-000000000008', 'a0000000-0000-4000-8000-000000000004', 'merchant_owner')
on conflict do nothing;

insert into public.interviews (id, merchant_id, name, status, interview_available_till) values
  ('c0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'Backend Engineer screening', 'active', null),
  ('c0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 'Data Analyst screening (draft)', 'draft', null),
  ('c0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', 'Sales screening (archived)', 'archived', null),
  ('c0000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000001', 'Summer internship (closed)', 'active', '2025-09-01T00:00:00Z'),
  ('c0000000-0000-4000-8000-000000000005', 'a0000000-0000-4000-8000-000000000002', 'Support Engineer EU screening', 'active', null),
  ('c0000000-0000-4000-8000-000000000006', 'a0000000-0000-4000-8000-000000000004', 'Initech screening', 'active', null),
  ('c0000000-0000-4000-8000-000000000007', 'a0000000-0000-4000-8000-000000000003', 'Globex screening', 'active', null)
on conflict (id) do nothing;

insert into public.positions (id, merchant_id, name, interview_id) values
  ('d0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'Senior Backend Engineer', 'c0000000-0000-4000-8000-000000000001')
on conflict (id) do nothing;

-- invite-users (docs/invite-users.md): people who already have an account
-- elsewhere, and an invitation still waiting to be accepted.
insert into public.accounts (id, email, full_name, is_platform_admin, home_merchant_id) values
  ('b0000000-0000-4000-8000-000000000010', 'coach@globex.example', 'Cora Coaching', false, 'a0000000-0000-4000-8000-000000000003'),
  ('b0000000-0000-4000-8000-000000000011', 'recruiter@globex.example', 'Rita Recruiter', false, 'a0000000-0000-4000-8000-000000000003'),
  ('b0000000-0000-4000-8000-000000000012', 'newcomer@example.com', 'Nadia Newcomer', false, null)
on conflict (id) do nothing;

insert into public.merchant_members (account_id, merchant_id, role) values
  ('b0000000-0000-4000-8000-000000000010', 'a0000000-0000-4000-8000-000000000003', 'user'),
  ('b0000000-0000-4000-8000-000000000011', 'a0000000-0000-4000-8000-000000000003', 'merchant')
on conflict do nothing;

insert into public.merchant_invitations (id, merchant_id, email, name, role, invited_by) values
  ('e0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'pending.mentor@example.com',
   'Paula Pending', 'mentor', 'b0000000-0000-4000-8000-000000000002')
on conflict do nothing;

-- Its accept link, long-lived so the demo keeps working on a kept database.
insert into public.invitation_tokens (jti, invitation_id, issued_at, expires_at)
select 'e1000000-0000-4000-8000-000000000001', id, '2026-11-21T00:00:00Z', '2036-11-21T00:00:00Z'
from public.merchant_invitations where id = 'e0000000-0000-4000-8000-000000000001'
on conflict do nothing;

-- Acme's API key, jmk_LocalOnlyAcmeKeyPublishedInTheReadme0000000: published, so the functions accept
-- it only in local mode (JOBMOJITO_LOCAL=1). Only its SHA-256 digest is stored, as for every key.
insert into public.merchant_api_keys (id, merchant_id, name, prefix, key_hash, created_by) values
  ('f0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'Local demo key (published)',
   'jmk_LocalOnl', sha256(convert_to('jmk_LocalOnlyAcmeKeyPublishedInTheReadme0000000', 'UTF8')),
   'b0000000-0000-4000-8000-000000000002')
on conflict (id) do nothing;
