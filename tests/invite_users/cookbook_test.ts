/** invite-users: the cookbook's invite-users bodies, sent as integrators copy them. */
import assert from "node:assert/strict";
import { callFunction } from "../_support/http.ts";
import { userToken } from "../_support/credentials.ts";
import { createMerchant, credits, merchantFootprint } from "../_support/fixtures.ts";
import { FN, inviteUsersSuite, type Row } from "./_invite_users.ts";

const { sql, server, deliveredTo } = await inviteUsersSuite();

Deno.test(
  "the cookbook's invite-users curl body, sent verbatim: 200, its placeholder interview id fails that row only",
  async () => {
    const fixture = await createMerchant(sql);
    const before = await merchantFootprint(sql, fixture.merchantId);
    const reply = await callFunction<Row[]>(server.functionsUrl, FN, {
      token: await userToken(fixture.ownerId),
      rawBody: `{
      "users": [
        { "name": "Peter Parker", "email": "peter@parker.com",
          "type": "candidate", "interview_id": "9c1b…e4f2" }
      ],
      "message_from_recruiter": "We'd love you to complete this short interview."
    }`,
    });
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, [{
      name: "Peter Parker",
      email: "peter@parker.com",
      type: "candidate",
      interview_id: "9c1b…e4f2",
      result: "Error: Invalid interview_id",
      profile_id: null,
      profile_interview_id: null,
    }]);
    assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), before);
  },
);

Deno.test(
  "the cookbook's body with its placeholder replaced by a real interview: Invited, one credit, one email carrying the message",
  async () => {
    const fixture = await createMerchant(sql, { credits: 5 });
    const reply = await callFunction<Row[]>(server.functionsUrl, FN, {
      token: await userToken(fixture.ownerId),
      rawBody: `{
      "users": [
        { "name": "Peter Parker", "email": "peter@parker.com",
          "type": "candidate", "interview_id": "${fixture.interviewId}" }
      ],
      "message_from_recruiter": "We'd love you to complete this short interview."
    }`,
    });
    assert.equal(reply.status, 200);
    const [row] = reply.body;
    assert.equal(row.result, "Invited");
    assert.match(row.profile_id, /^[0-9a-f-]{36}$/);
    assert.match(row.profile_interview_id, /^[0-9a-f-]{36}$/);
    assert.equal(await credits(sql, fixture.merchantId), 4);
    const [registration] = await sql`
    select pi.status, pi.is_test, p.email, p.name from profile_interviews pi join candidate_profiles p on p.id = pi.profile_id
    where pi.id = ${row.profile_interview_id}`;
    assert.deepEqual({ ...registration }, {
      status: "registered",
      is_test: false,
      email: "peter@parker.com",
      name: "Peter Parker",
    });

    const [mail] = (await deliveredTo("peter@parker.com")).filter((m) =>
      m.parsed.text?.includes(fixture.interviewId)
    );
    assert.ok(mail, "the invitation reached the candidate");
    assert.match(mail.parsed.text!, /We'd love you to complete this short interview\./);
    assert.match(mail.parsed.text!, new RegExp(`/interview/take/${fixture.interviewId}/\\?interview_token=`));
    assert.match(mail.parsed.html!, /We&#39;d love you to complete this short interview\./);
  },
);
