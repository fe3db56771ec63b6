/** Minting user access tokens for local use: `deno task start`'s demo curl, the bench, the tests. */
import { SignJWT } from "jose";

export interface UserTokenOptions {
  /** `authenticated` unless given: Supabase Auth's role for a signed-in user. */
  role?: string;
  /** Seconds from now (default one hour); negative for an expired token. */
  expiresIn?: number;
  /** Further claims (e.g. `email`), or overrides of the ones above. */
  claims?: Record<string, unknown>;
}

/** An HS256 access token shaped like the ones Supabase Auth issues on a project with a JWT secret. */
export function signUserToken(secret: string, sub: string, options: UserTokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: options.role ?? "authenticated", aud: "authenticated", ...options.claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 3600))
    .sign(new TextEncoder().encode(secret));
}
