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
