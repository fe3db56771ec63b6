/**
 * The MCP server's tools: one entry per HTTP endpoint an AI assistant may call. A tool is its endpoint: the
 * same zod schema describes its input, the same operation (operation.ts) validates, authorizes, writes and
 * answers, so an HTTP request and a tool call with the same JSON get the same outcome. Adding an endpoint's
 * tool is one entry here, once the endpoint's route exports its operation.
 */
import type { ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { Config, Requirement } from "../config.ts";
import { inviteUsersRequestSchema, InviteUsersResponse } from "../invitations/schemas.ts";
import { micro1InviteRequestSchema, Micro1InviteResponse } from "../micro1/schemas.ts";
import type { Operation } from "../operation.ts";
import { INVITE_USERS_REQUIRES, inviteUsersOperation } from "../routes/invite_users.ts";
import { MICRO1_REQUIRES, micro1InviteOperation } from "../routes/micro1_invite.ts";
import { REGISTER_USERS_REQUIRES, registerUsersOperation } from "../routes/register_users.ts";
import type { Runtime } from "../runtime.ts";
import {
  JobInterviewTokenRequest,
  JobInterviewTokenResponse,
  registerUsersRequestSchema,
  RegisterUsersResponse,
} from "../schemas.ts";
import { JOB_INTERVIEW_TOKEN_REQUIRES, jobInterviewTokenOperation } from "../routes/job_interview_token.ts";
import {
  RegistrationRequest,
  REGISTRATIONS_REQUIRES,
  registrationsOperations,
} from "../routes/registrations.ts";
import {
  CancelledRegistration,
  ListRegistrationsQuery,
  Registration,
  RegistrationList,
} from "../registrations/schemas.ts";

export interface McpTool {
  /** JobMojito's name for it, where JobMojito has one. */
  name: string;
  title: string;
  /** What it does and what it costs: what an assistant reads to decide whether to ask first. */
  description: string;
  /** Whether it writes, and what: clients ask before calling a tool that is not read-only. */
  annotations: ToolAnnotations;
  /** The endpoint's request schema, as the OpenAPI document describes it. */
  input: (config: Config) => z.ZodObject;
  /** The endpoint's answer schema. */
  output: z.ZodType;
  /**
   * Structured content is a JSON object: an endpoint that answers with an array (one row per user) gives
   * it under this key.
   */
  resultKey?: string;
  /** The endpoint's operation, the one its HTTP route runs. */
  operation: (runtime: Runtime) => Operation<unknown>;
  /** The endpoint's settings (its route's `*_REQUIRES`): the mcp function requires all its tools'. */
  requires: readonly Requirement[];
}

/** Writes that spend credits or send email: a client asks before each call. */
const SPENDS: ToolAnnotations = {
  readOnlyHint: false,
  // A repeated registration revokes the candidate's earlier link, a forced invitation its earlier accept link.
  destructiveHint: true,
  // Every call mints new links (and may email them) even when it registers nobody new.
  idempotentHint: false,
  // Emails go to people outside the merchant.
  openWorldHint: true,
};

/** Reads: nothing changes, so clients may call them without asking. */
const READS: ToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
};

const PER_ROW =
  "Each user is processed on its own: the answer lists every user in input order, as sent, with " +
  "its result; one row failing does not stop the others.";

export const MCP_TOOLS: McpTool[] = [
  {
    name: "register_users_for_interview",
    title: "Register candidates for an interview",
    description:
      "Registers candidates for an interview (or a position) and returns a one-time interview URL for each " +
      "(POST /job-interview-register-users). COST: consumes one interview credit of the merchant per " +
      "candidate newly registered; a candidate who already has an open registration for the interview " +
      "costs nothing again, but gets a new link and their earlier link stops working. is_test: true spends " +
      'no credit. type "invitation" also emails each candidate an invitation, then reminders. ' + PER_ROW +
      ' A row\'s result is "ok" (with interview_url and profile_interview_id) or "Error: <why>", e.g. ' +
      '"Error: Not enough interview credits" for the rows the merchant cannot pay for.',
    annotations: SPENDS,
    input: (config) => registerUsersRequestSchema(config.maxUsersPerRequest),
    output: RegisterUsersResponse,
    resultKey: "users",
    operation: registerUsersOperation,
    requires: REGISTER_USERS_REQUIRES,
  },
  {
    name: "invite_users",
    title: "Invite people to the merchant",
    description: "Invites people to the merchant and emails each of them (POST /invite-users): candidates " +
      '(type "candidate" with interview_id, registered exactly as register_users_for_interview does with ' +
      'type "invitation"; COST: one interview credit per candidate newly registered), team members ' +
      '("merchant_owner", "merchant", "merchant_selection") and coaching-portal users ("user", the default, ' +
      '"mentor"), who get the role at once if they have an account, or else a one-time accept link. ' +
      "force_invite sends a pending invitation again (its earlier link stops working). " + PER_ROW +
      " A row's result is Invited, Activated, SubMerchantAdded, CoachingAccessAdded, Skipped or " +
      '"Error: <why>".',
    annotations: SPENDS,
    input: (config) => inviteUsersRequestSchema(config.maxUsersPerRequest),
    output: InviteUsersResponse,
    resultKey: "users",
    operation: inviteUsersOperation,
    requires: INVITE_USERS_REQUIRES,
  },
  {
    name: "invite_candidates",
    title: "Invite candidates to an interview, all or nothing (micro1's invite)",
    description:
      "micro1's POST /interview/invite: registers the candidates for an interview (or a position) like " +
      "register_users_for_interview, emails each an invitation unless disable_email_notification, and " +
      "returns each one's candidate_id and one-time invite_url; or, with candidate_id instead of candidates, " +
      "sends one earlier candidate a new link (the old one stops working). COST: one interview credit per " +
      "candidate newly registered. All or nothing: if any candidate fails (invalid or repeated email, not " +
      "enough credits), nobody is invited, nothing is spent, and the error names each failure.",
    annotations: SPENDS,
    input: (config) => micro1InviteRequestSchema(config.maxUsersPerRequest),
    output: Micro1InviteResponse,
    operation: micro1InviteOperation,
    requires: MICRO1_REQUIRES,
  },
  {
    name: "generate_interview_url",
    title: "Generate a new interview URL for a candidate",
    description:
      'JobMojito\'s generate_interview_url (POST /job-interview-token), type "interview-for-profile": a new ' +
      "one-time interview URL for a candidate profile (interview_profile_id, a profile_id an earlier " +
      "registration returned) and an interview. Their open registration is reused and its earlier link stops " +
      "working; COST: with no open registration, a new one spends one interview credit. Sends no email.",
    annotations: { ...SPENDS, openWorldHint: false },
    input: () => JobInterviewTokenRequest,
    output: JobInterviewTokenResponse,
    resultKey: "interview_url",
    operation: jobInterviewTokenOperation,
    requires: JOB_INTERVIEW_TOKEN_REQUIRES,
  },
  {
    name: "list_registrations",
    title: "List registrations",
    description:
      "The merchant's (and its sub-merchants') registrations, oldest first, filtered by interview, " +
      "position, external_id, email, job_application_id, status or creation time, a page at a time " +
      "(GET /registrations): each with its candidate, status, each step's time, its link's expiry and its " +
      "emails. Reads only; costs nothing.",
    annotations: READS,
    input: () => ListRegistrationsQuery,
    output: RegistrationList,
    operation: (runtime) => registrationsOperations(runtime).list,
    requires: REGISTRATIONS_REQUIRES,
  },
  {
    name: "get_registration",
    title: "Show a registration",
    description: "One registration by its id (profile_interview_id), as list_registrations shows it " +
      "(GET /registrations/<id>). Reads only; costs nothing.",
    annotations: READS,
    input: () => RegistrationRequest,
    output: Registration,
    operation: (runtime) => registrationsOperations(runtime).get,
    requires: REGISTRATIONS_REQUIRES,
  },
  {
    name: "cancel_registration",
    title: "Cancel a registration",
    description: "Cancels a registration (POST /registrations/<id>/cancel): its link stops working, its " +
      "pending invitation and reminders are not sent, and its interview credit comes back if the link was " +
      "never redeemed. Cannot be undone.",
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    input: () => RegistrationRequest,
    output: CancelledRegistration,
    operation: (runtime) => registrationsOperations(runtime).cancel,
    requires: REGISTRATIONS_REQUIRES,
  },
];
