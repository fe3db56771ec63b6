/** Real credentials for tests: JWTs signed with real keys, the way Supabase Auth would sign them. */
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { LOCAL_JWT_SECRET } from "../../supabase/functions/_shared/config.ts";
import { signUserToken, type UserTokenOptions } from "../../scripts/user_token.ts";

export const SEED = {
  admin: "b0000000-0000-4000-8000-000000000001",
  owner: "b0000000-0000-4000-8000-000000000002",
  staff: "b0000000-0000-4000-8000-000000000003",
  subStaff: "b0000000-0000-4000-8000-000000000004",
  selection: "b0000000-0000-4000-8000-000000000005",
  mentor: "b0000000-0000-4000-8000-000000000006",
  globexOwner: "b0000000-0000-4000-8000-000000000007",
  initechOwner: "b0000000-0000-4000-8000-000000000008",
  parentMerchant: "a0000000-0000-4000-8000-000000000001",
  subMerchant: "a0000000-0000-4000-8000-000000000002",
  globex: "a0000000-0000-4000-8000-000000000003",
  initech: "a0000000-0000-4000-8000-000000000004",
  activeInterview: "c0000000-0000-4000-8000-000000000001",
  draftInterview: "c0000000-0000-4000-8000-000000000002",
  archivedInterview: "c0000000-0000-4000-8000-000000000003",
  expiredInterview: "c0000000-0000-4000-8000-000000000004",
  subInterview: "c0000000-0000-4000-8000-000000000005",
  initechInterview: "c0000000-0000-4000-8000-000000000006",
  position: "d0000000-0000-4000-8000-000000000001",
} as const;

export interface TokenOptions extends UserTokenOptions {
  /** The HS256 secret; the local one the test server runs with unless given. */
  secret?: string;
}

/** An HS256 Supabase access token, as a legacy project's Auth server issues it. */
export function userToken(sub: string, options: TokenOptions = {}): Promise<string> {
  return signUserToken(options.secret ?? LOCAL_JWT_SECRET, sub, options);
}

/** A token with `alg: none`: no signature at all. */
export function unsignedToken(sub: string): string {
  const part = (value: unknown) =>
    btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return `${part({ alg: "none", typ: "JWT" })}.${part({ sub, role: "authenticated", exp })}.`;
}

export interface AsymmetricSigner {
  jwks: { keys: Record<string, unknown>[] };
  sign(sub: string, options?: TokenOptions): Promise<string>;
}

/** A key pair like a new Supabase project's: tokens signed with the private key, the public half in a JWKS. */
export async function asymmetricSigner(
  alg: "ES256" | "RS256",
  kid = crypto.randomUUID(),
): Promise<AsymmetricSigner> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return {
    jwks: { keys: [jwk] },
    sign(sub, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ role: options.role ?? "authenticated", aud: "authenticated", ...options.claims })
        .setProtectedHeader({ alg, kid, typ: "JWT" })
        .setSubject(sub)
        .setIssuedAt(now)
        .setExpirationTime(now + (options.expiresIn ?? 3600))
        .sign(privateKey);
    },
  };
}
