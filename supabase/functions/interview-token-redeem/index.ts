import {
  INTERVIEW_TOKEN_REDEEM_REQUIRES,
  interviewTokenRedeemApp,
} from "../_shared/routes/interview_token_redeem.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(interviewTokenRedeemApp, INTERVIEW_TOKEN_REDEEM_REQUIRES);
