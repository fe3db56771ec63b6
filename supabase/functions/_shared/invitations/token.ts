import { errors as joseErrors, jwtVerify } from "jose";
import { ApiError } from "../errors.ts";
import { hs256Key, signHs256 } from "../hs256.ts";

export const INVITATION_TOKEN_AUDIENCE = "invitation";

/**
 * What an accept link's token says. The database keeps jti, iat and exp (as
 * invitation_tokens.issued_at/expires_at) and the outbox row carries them, so
 * the token is minted only when the email is rendered and is never stored.
 */
export interface InvitationTokenClaims {
  jti: string;
  /** The invitation (merchant_invitations.id). */
  sub: string;
  /** Seconds since the epoch. */
  iat: number;
  exp: number;
}

/** The HS256 key for accept links: the secret's bytes, which both node:crypto and jose take as they are. */
export function invitationTokenKey(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/**
 * Signs the claims synchronously (see signHs256): the email dispatcher
 * computes a message's send-time data synchronously (email/kinds.ts).
 */
export function mintInvitationToken(key: Uint8Array, claims: InvitationTokenClaims): string {
  return signHs256(hs256Key(key), {
    aud: INVITATION_TOKEN_AUDIENCE,
    sub: claims.sub,
    jti: claims.jti,
    iat: claims.iat,
    exp: claims.exp,
  });
}

/**
 * Checks an accept token's signature, audience and expiry: 422 when it is not
 * one of ours (the caller's credential is their JWT, which was fine), 410 when
 * it was but has expired. Used, revoked or sent to someone else is the
 * database's call.
 */
export async function verifyInvitationToken(key: Uint8Array, token: string): Promise<InvitationTokenClaims> {
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
