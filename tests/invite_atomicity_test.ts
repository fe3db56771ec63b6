/**
 * invite-users is one transaction: a fault anywhere in it leaves nothing
 * behind, and acceptances never interleave with an invitation being decided.
 */
import assert from "node:assert/strict";
import { userToken } from "./_support/credentials.ts";
import { createInterview, createMerchant, merchantFootprint } from "./_support/fixtures.ts";
import { callFunction } from "./_support/http.ts";
import { waitFor } from "./_support/email.ts";
import { invitationTokenKey, mintInvitationToken } from "../supabase/functions/_shared/invitations/token.ts";
import { fileServer } from "./_support/suite.ts";

const server = await fileServer();
const { sql } = server.runtime;

Deno.test(
  "a fault in the second interview group rolls back the members, the first group and its credits",
  async () => {
    const fixture = await createMerchant(sql, { credits: 10 });
    const second = await createInterview(sql, fixture.merchantId);
    const tag = second.slice(0, 8);
    await sql.unsafe(`
    create function fault_${tag}() returns trigger language plpgsql as $$
    begin raise exception 'injected fault'; end $$;
    create trigger fault_${tag} before insert on profile_interviews for each row
      when (new.interview_id = '${second}') execute function fault_${tag}();`);
    try {
      const before = await merchantFootprint(sql, fixture.merchantId);
      const reply = await callFunction(server.functionsUrl, "invite-users", {
        token: await userToken(fixture.ownerId),
        body: {
          users: [
            { email: "mentor@atomic.example", name: "Mo", type: "mentor" },
            { email: "first@atomic.example", type: "candidate", interview_id: fixture.interviewId },
            { email: "second@atomic.example", type: "candidate", interview_id: second },
          ],
        },
      });
      assert.equal(reply.status, 500);
      assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), before);
      const [{ invitations }] = await sql`select count(*)::int as invitations from merchant_invitations
      where merchant_id = ${fixture.merchantId}`;
      assert.equal(invitations, 0, "the mentor's invitation went with the rest");
    } finally {
      await sql.unsafe(`drop trigger fault_${tag} on profile_interviews; drop function fault_${tag}();`);
    }
  },
);

Deno.test(
  "accepting while a forced re-send is decided: never both an acceptance and a fresh invitation",
  async () => {
    const fixture = await createMerchant(sql);
    const owner = await userToken(fixture.ownerId);
    const key = invitationTokenKey(server.runtime.config.invitationTokenSecret);
    for (let round = 0; round < 10; round++) {
      const email = `race-${round}-${crypto.randomUUID().slice(0, 6)}@accept.example`;
      const invited = await callFunction(server.functionsUrl, "invite-users", {
        token: owner,
        body: { users: [{ email, type: "mentor" }] },
      });
      assert.equal(invited.body[0].result, "Invited");
      const invitationId = invited.body[0].invitation_id;
      const [link] = await sql`select jti::text, extract(epoch from issued_at)::int as iat,
      extract(epoch from expires_at)::int as exp from invitation_tokens
      where invitation_id = ${invitationId} and revoked_at is null and redeemed_at is null`;
      const acceptToken = mintInvitationToken(key, {
        jti: link.jti,
        sub: invitationId,
        iat: link.iat,
        exp: link.exp,
      });

      const [accepted, resent] = await Promise.all([
        callFunction(server.functionsUrl, "invite-accept", {
          token: await userToken(crypto.randomUUID(), { claims: { email } }),
          body: { invitation_token: acceptToken },
        }),
        callFunction(server.functionsUrl, "invite-users", {
          token: owner,
          body: { users: [{ email, type: "mentor" }], force_invite: true },
        }),
      ]);
      assert.ok(
        [200, 410].includes(accepted.status),
        `accept: ${accepted.status} ${JSON.stringify(accepted.body)}`,
      );
      assert.equal(resent.status, 200);
      if (accepted.status === 200) {
        assert.notEqual(resent.body[0].result, "Invited", "an accepted invitation is not sent again");
      } else {
        assert.equal(resent.body[0].result, "Invited");
      }
      const [state] = await sql`select i.accepted_at is not null as accepted,
      (select count(*)::int from invitation_tokens t where t.invitation_id = i.id
        and t.redeemed_at is null and t.revoked_at is null) as live_links
      from merchant_invitations i where i.id = ${invitationId}`;
      assert.equal(state.accepted, accepted.status === 200);
      assert.equal(state.live_links, state.accepted ? 0 : 1, "an accepted invitation has no live link left");
    }
  },
);

Deno.test(
  "a multi-interview invite and register-users of a candidate it shares: no deadlock",
  async () => {
    const fixture = await createMerchant(sql, { credits: 10_000 });
    const second = await createInterview(sql, fixture.merchantId);
    const owner = await userToken(fixture.ownerId);
    // The invite's first group leaves 9,998 credits: right after that decrement,
    // while it holds the merchant's row, it pauses, so registrations of the
    // candidate its second group needs can arrive in between.
    const tag = fixture.merchantId.slice(0, 8);
    await sql.unsafe(`
    create function pause_${tag}() returns trigger language plpgsql as $$
    begin perform pg_sleep(1); return null; end $$;
    create trigger pause_${tag} after update on merchants for each row
      when (new.id = '${fixture.merchantId}' and new.interview_credits = 9998) execute function pause_${tag}();`);
    try {
      const invite = callFunction(server.functionsUrl, "invite-users", {
        token: owner,
        body: {
          users: [
            { email: "first@pause.example", type: "candidate", interview_id: fixture.interviewId },
            { email: "also@pause.example", type: "candidate", interview_id: fixture.interviewId },
            { email: "shared@pause.example", type: "candidate", interview_id: second },
          ],
        },
      });
      await waitFor("the invite pausing after its first group", async () => {
        const [{ paused }] =
          await sql`select count(*)::int as paused from pg_stat_activity where wait_event = 'PgSleep'`;
        return paused === 1;
      });
      const registrations = Array.from(
        { length: 3 },
        () =>
          callFunction(server.functionsUrl, "job-interview-register-users", {
            token: owner,
            body: { interview_id: second, users: [{ email: "shared@pause.example" }] },
          }),
      );
      const replies = await Promise.all([invite, ...registrations]);
      assert.deepEqual(
        replies.map((r) => r.status),
        [200, 200, 200, 200],
      );
      assert.deepEqual(replies[0].body.map((row: { result: string }) => row.result), [
        "Invited",
        "Invited",
        "Invited",
      ]);
    } finally {
      await sql.unsafe(`drop trigger pause_${tag} on merchants; drop function pause_${tag}();`);
    }
  },
);
