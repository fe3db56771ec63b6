import { errors as joseErrors, jwtVerify } from "jose";
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import { type Hs256Key, hs256Key, signHs256 } from "../hs256.ts";

export const INTERVIEW_TOKEN_AUDIENCE = "interview";

/** The shortest lifetime a request may give its links: a link must outlive its own delivery. */
const MIN_LINK_SECONDS = 60;

/**
 * When a request's links expire (seconds since the epoch): its `link_expires_at`, at least a minute and at
 * most INTERVIEW_TOKEN_MAX_TTL_SECONDS ahead of `now` (else a 422 naming the field), or the default TTL.
 */
export function linkExpiry(
  config: Pick<Config, "interviewTokenTtlSeconds" | "interviewTokenMaxTtlSeconds">,
  requested: string | null | undefined,
  now: number,
): number {
  if (!requested) return now + config.interviewTokenTtlSeconds;
  const exp = Math.floor(Date.parse(requested) / 1000);
  if (exp < now + MIN_LINK_SECONDS) {
    throw new ApiError(422, "Must be at least a minute in the future", "link_expires_at");
  }
  if (exp > now + config.interviewTokenMaxTtlSeconds) {
    const days = Math.floor(config.interviewTokenMaxTtlSeconds / 86400);
    throw new ApiError(
      422,
      `Must be at most ${days > 0 ? `${days} days` : `${config.interviewTokenMaxTtlSeconds} seconds`} ahead`,
      "link_expires_at",
    );
  }
  return exp;
}

/**
 * Everything an interview token says. The database keeps jti, iat and exp
 * (as interview_tokens.issued_at/expires_at) and can derive the rest, so the
 * same token can be minted again later, e.g. for an email: HS256 over the
 * same claims in the same order is the same token.
 */
export interface InterviewTokenClaims {
  jti: string;
  /** Candidate profile id. */
  sub: string;
  /** Seconds since the epoch. */
  iat: number;
  exp: number;
  profile_interview_id: string;
  interview_id: string;
  merchant_id: string;
  is_test: boolean;
}

/** The interview-token secret, prepared once for signing and for verifying. */
export interface InterviewTokenKey {
  signing: Hs256Key;
  verifying: CryptoKey;
}

export async function interviewTokenKey(secret: string): Promise<InterviewTokenKey> {
  const bytes = new TextEncoder().encode(secret);
  return {
    signing: hs256Key(bytes),
    verifying: await crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, [
      "verify",
    ]),
  };
}

/** Signs the claims (see signHs256 for why this is not jose). */
export function mintInterviewToken(key: InterviewTokenKey, claims: InterviewTokenClaims): string {
  return signHs256(key.signing, {
    profile_interview_id: claims.profile_interview_id,
    interview_id: claims.interview_id,
    merchant_id: claims.merchant_id,
    is_test: claims.is_test,
    aud: INTERVIEW_TOKEN_AUDIENCE,
    sub: claims.sub,
    jti: claims.jti,
    iat: claims.iat,
    exp: claims.exp,
  });
}

/**
 * Checks an interview token's signature, audience and expiry: 401 when it is
 * not one of ours, 410 when it was but has expired. Whether it is still
 * unused and unrevoked is the database's call.
 */
export async function verifyInterviewToken(
  key: InterviewTokenKey,
  token: string,
): Promise<InterviewTokenClaims> {
  try {
    const { payload } = await jwtVerify(token, key.verifying, {
      algorithms: ["HS256"],
      audience: INTERVIEW_TOKEN_AUDIENCE,
      requiredClaims: ["jti", "sub", "iat", "exp"],
    });
    if (typeof payload.profile_interview_id !== "string") {
      throw new joseErrors.JWTInvalid("missing claims");
    }
    return payload as unknown as InterviewTokenClaims;
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) {
      throw new ApiError(410, "Interview token expired", "interview_token");
    }
    throw new ApiError(401, "Invalid interview token", "interview_token");
  }
}

export interface InterviewUrlOptions {
  hideMenu: boolean;
  hideIframe: boolean;
}

/** JobMojito's published link shape: `<base>/interview/take/<interview id>/?interview_token=<token>`. */
export function buildInterviewUrl(
  baseUrl: string,
  interviewId: string,
  token: string,
  options: InterviewUrlOptions,
): string {
  let url = `${baseUrl.replace(/\/$/, "")}/interview/take/${interviewId}/?interview_token=${token}`;
  if (options.hideMenu) url += "&view_hm=true";
  if (options.hideIframe) url += "&view_hi=true";
  return url;
}
