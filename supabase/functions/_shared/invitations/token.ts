import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { ApiError } from "../errors.ts";

export const INVITATION_TOKEN_AUDIENCE = "invitation";

/**
 * What an accept link's token says. The database keeps jti, iat and exp (as
 * invitation_tokens.issued_at/expires_at) and the outbox row keeps them too,
 * so the token is minted only when the email is rendered and never stored.
 */
export interface InvitationTokenClaims {
  jti: string;
  /** The invitation (merchant_invitations.id). */
  sub: string;
  /** Seconds since the epoch. */
  iat: number;
  exp: number;
}

/** The HS256 key for accept links, imported once. */
export function invitationTokenKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

export function mintInvitationToken(key: CryptoKey, claims: InvitationTokenClaims): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setAudience(INVITATION_TOKEN_AUDIENCE)
    .setSubject(claims.sub)
    .setJti(claims.jti)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .sign(key);
}

/**
 * Checks an accept token's signature, audience and expiry: 422 when it is not
 * one of ours (the caller's own credential is the JWT, which was fine), 410
 * when it was but has expired. Used, revoked or mismatched is the database's call.
 */
export async function verifyInvitationToken(key: CryptoKey, token: string): Promise<InvitationTokenClaims> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      audience: INVITATION_TOKEN_AUDIENCE,
      requiredClaims: ["jti", "sub", "iat", "exp"],
    });
    return payload as unknown as InvitationTokenClaims;
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) {
      throw new ApiError(410, "Invitation expired", "invitation_token");
    }
    throw new ApiError(422, "Invalid invitation token", "invitation_token");
  }
}

/** Where the invited person accepts: the web app signs them in, then calls POST /invite-accept with the token. */
export function buildAcceptUrl(baseUrl: string, token: string): string {
  return `${baseUrl.replace(/\/$/, "")}/invitation/accept/?invitation_token=${token}`;
}
