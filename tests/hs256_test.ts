/** signHs256 against jose, the library that verifies what it signs: the same bytes for any secret. */
import assert from "node:assert/strict";
import { jwtVerify, SignJWT } from "jose";
import { hs256Key, signHs256 } from "../supabase/functions/_shared/hs256.ts";

Deno.test(
  "signHs256 from a prepared key is jose's token byte for byte, for secrets shorter than, as long as and longer than SHA-256's block",
  async () => {
    // 64 bytes is the block: a longer secret is hashed first (RFC 2104), a shorter one padded.
    for (const length of [1, 32, 63, 64, 65, 200]) {
      const secret = crypto.getRandomValues(new Uint8Array(length));
      const key = hs256Key(secret);
      // Twice from one key: a signature must not disturb the prepared states the next one copies.
      for (const name of ["Zoë Ünal ✓", "second"]) {
        const payload = {
          name,
          aud: "interview",
          sub: crypto.randomUUID(),
          iat: 1795300000,
          exp: 1797892000,
        };
        const byJose = await new SignJWT({ name })
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .setAudience("interview")
          .setSubject(payload.sub)
          .setIssuedAt(payload.iat)
          .setExpirationTime(payload.exp)
          .sign(secret);
        const token = signHs256(key, payload);
        assert.equal(token, byJose, `a ${length}-byte secret`);
        const { payload: verified } = await jwtVerify(token, secret, {
          currentDate: new Date(1795300000_000),
        });
        assert.equal(verified.name, name);
      }
    }
  },
);

Deno.test("a token signed with another secret does not verify", async () => {
  const token = signHs256(hs256Key(new TextEncoder().encode("one secret")), { sub: "x" });
  await assert.rejects(jwtVerify(token, new TextEncoder().encode("another secret")));
});
