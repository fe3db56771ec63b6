-- app.register_batch runs on cached generic plans only. PL/pgSQL plans each
-- statement for the values of its first calls and then keeps a generic plan
-- when that costs about as much; for the statement that locks reused
-- registrations it never did, so it was planned anew on every call: 120 us
-- of the 650 us a single-user registration spends in the database. The
-- generic plans are index-driven (20261130000000 made the batch lookups so,
-- and tests/query_plans_test.ts holds them to it), whatever the batch size.
alter function app.register_batch(
  public.merchants, uuid, uuid, text, boolean, boolean, boolean, boolean,
  timestamptz, timestamptz, jsonb, text, jsonb, boolean, integer
) set plan_cache_mode = force_generic_plan;
