-- Contracts move into the catalog: each function's contract comment, and the
-- description of the tables and types that had one, become COMMENT ON, so
-- that `deno task schemas` writes them into supabase/schemas/<concern>/, the
-- one file a reader opens for an object's current definition. They used to be
-- SQL comments above each `create function` of the migration that last
-- replaced it, which left the live contract spread over five files with
-- superseded copies beside them. The text is theirs (one paragraph rewrapped,
-- app.redeem_interview_token's result named, and public.interviews said only
-- "interview_def_set"); nothing else changes.
-- A migration that adds or replaces a function states its contract the same
-- way, with `comment on function` (tests/schemas_test.ts checks every one).
--
-- The comments name functions without their argument types (each name is
-- unique in app), so that a signature another migration changed still matches.

comment on function app.nearest_role is $$
The caller's role for a merchant: the nearest membership on the path from
it up to its root (sub-merchants nest), or null when there is none.
$$;

comment on function app.merchant_within is $$
Whether p_merchant_id is p_ancestor_id or one of its sub-merchants, at any
depth (bounded like app.nearest_role).
$$;

comment on function app.acting_merchant is $$
The merchant a caller acts for, after every authorization rule of the API.
The caller is an API key (app.caller_api_key(), the SHA-256 digest of the
key presented), a user (p_account_id) or, with neither, the service key.

- A key must exist, be unrevoked and unexpired (else 401); it acts for its
  merchant, or for a named sub-merchant of it, like that merchant's owner
  (any other merchant is a 403). Its last use is recorded at most once a
  minute, and never waits: a row another request holds is left alone.
- The service key must name an existing merchant.
- A user acts for their home merchant, or for a named one when they are a
  platform admin or hold an allowed role there or at any ancestor of it.
$$;

comment on function app.as_caller is $$
Names the request's caller for the rest of its transaction: the first
argument of every request's SQL call, evaluated before the call runs.
Returns p_account_id (null for the service key and for an API key), and
records p_api_key, the digest of a presented API key, for
app.caller_api_key (transaction-local: it ends with the request).
$$;

comment on function app.caller_api_key is $$
The caller of this transaction, set by app.as_caller: the digest of the
API key presented, or null.
$$;

comment on function app.merchant_lock_key is $$
The key of a merchant's transaction-level advisory lock for one purpose
('credits': register batches; 'invitations': team and coaching invitations).
$$;

comment on function app.registrable_interview is $$
Resolves an interview_def_set or position_def_set id of the merchant and
checks that it can take registrations now.
$$;

comment on function app.interview_is_open is $$
A normal registration or redemption needs a published interview before its
availability date; a test one also takes a draft, whatever the date.
$$;

comment on function app.resolve_interview_ids is $$
The interview each of p_ids names at the merchant, looked up as
app.registrable_interview looks one up (an interview, else a position's
interview); null when it names neither. invite-users groups a request's
candidate rows by the id each names (a position is recorded on the
registration) but finds duplicates by the interview.
$$;

comment on function app.register_batch is $$
One pass over a batch: profiles, registrations, tokens and invitations,
then the credits the new registrations cost. With p_credit_budget null it
is optimistic: every row that needs a credit gets one, and if the merchant
cannot pay for them all at the end it raises JMCRD (nothing is kept) so the
caller can redo the batch alone, with a budget the rows that need a credit
spend in input order. JMRTY means the state it read changed under it.

Batches of one merchant overlap: the merchant's row is locked only by the
final decrement. What they share is locked in one global order (profiles
by email, then registrations by id, then the merchant), so they queue
rather than deadlock; the partial unique indexes make a concurrent
duplicate a reuse. With p_skip_invited (invite-users without
force_invite), a candidate whose open registration was started or has an
invitation queued or sent keeps it and comes back skipped.
$$;

comment on function app.register_users is $$
Registers a batch of candidates for one interview in one transaction.

p_users holds only rows that passed validation: [{i, email, name?,
external_id?}] with i the row's index in the request and emails unique
case-insensitively. Rows are independent: a row that cannot get a credit
writes nothing, the others go ahead; with p_all_or_nothing (micro1's
invite, which has no per-row errors) such a row fails the whole call
instead (JM402), and nothing is written. p_candidate_id (micro1's re-send)
registers that candidate profile of the merchant again, in place of
p_users: the same registration, a new link, the old one revoked.
p_job_application_id is kept on every registration of the batch.

Returns {merchant_id, interview_id, position_id, interview_base_url,
candidate_email (with p_candidate_id), rows: [{i, profile_id,
profile_interview_id, jti} | {i, profile_id, profile_interview_id,
skipped} | {i, error}]}.
$$;

comment on function app.redeem_interview_token is $$
Spends a one-time interview token. The caller has already checked the
token's signature and expiry; this decides, under a row lock, whether it is
still the registration's live link. Of concurrent calls for one token the
first wins and the rest see it used.

Returns the registration (its job_application_id included), status 'started'.
$$;

comment on function app.complete_registration is $$
The interview app reports that a candidate finished the interview. Marks
the registration completed, cancels whatever of its chain is still waiting,
and, when the candidate is subscribed to the email chain (an invitation was
queued for the registration), queues the completion notification in the
same transaction. Idempotent: reporting again changes nothing and queues
nothing; concurrent reports serialize on the registration's row.
$$;

comment on function app.notify_email_outbox is $$
Wakes long-running dispatchers (LISTEN email_outbox) as soon as a message is
queued; NOTIFY is transactional, so they hear of it once it is committed.
Only when a row due now was queued (reminders for later are found by the
poll): a transaction that notifies takes a database-wide lock at commit (to
keep notifications in order), and the statement-level trigger also fires
for the zero rows a register-users batch of type "url" queues, which would
make every registration wait on it.
$$;

comment on function app.claim_emails is $$
Claims up to p_limit due messages for one dispatcher and returns them with
everything needed to render them, in one round trip.

Due means pending with send_after reached, or 'sending' with its lease run
out (the dispatcher that claimed it died mid-attempt). Rows other claimers
hold are skipped, not waited for, so any number of dispatchers can claim at
once and each row goes to exactly one of them. An abandoned row that
already had its last attempt is marked failed instead.

Whether a message is still wanted (its registration open, its link live)
is not decided here but by app.check_emails, right before it is sent: a
claimed message may wait up to a lease for its turn.

Returns {claim_id, failed, messages: [{id, kind, attempts, to_email,
to_name, language, payload, merchant: {...}}]}, oldest due first.
$$;

comment on function app.check_emails is $$
Of the claimed messages p_ids, returns those still wanted with the link an
invitation or reminder is to carry, and cancels the others with the reason
(cancelled = true); a message the claim no longer holds is not returned.
Invitations and reminders are wanted while their registration is open, its
interview can still be taken (app.interview_is_open, as a redemption
requires) and it has a live interview link (not used, revoked or expired);
a reminder only while the interview has not been started, an invitation
only while no newer invitation of the registration is queued or sent.
Their link is the one live now: the claims of the registration's live
token, which a registration again since the claim has replaced. A role
invitation is wanted while its invitation is open and the link it carries
is still the live one. A cancelled message's attempt is not counted: it
was never tried.

Reads the registration and the invitation without locking them: a change
that commits after this statement began is the window docs/email.md
describes.
$$;

comment on function app.record_email_sent is $$
Records that the SMTP server accepted a claimed message. Returns false when
the claim no longer owns the row (its lease ran out and another dispatcher
took it over), in which case nothing is changed.

A sent invitation cancels the still-pending reminders of any earlier
invitation of the registration, which it supersedes, and, while the
interview has not been started, schedules the chain's reminders
p_reminder_offsets seconds after it went out.
$$;

comment on function app.record_email_failure is $$
Records a failed attempt: back to 'pending', due again in
p_retry_after_seconds, or 'failed' for good when that is null. Returns the
row's new status, or null when the claim no longer owns the row.
$$;

comment on function app.release_emails is $$
Hands claimed messages back untouched (a dispatcher stopping, or too little
lease left to send them safely): due again at once, the attempt not counted.
$$;

comment on function app.retry_email is $$
For operators: gives a failed message a fresh set of attempts, due now.
  select app.retry_email(id) from public.email_outbox where status = 'failed' and ...;
Returns false when the message is not (or no longer) failed.
$$;

comment on function app.role_rank is $$
How much a role may do, for "nobody grants a role above their own" and
"a re-invite never demotes": team roles above coaching roles above candidate.
$$;

comment on function app.grant_ceiling is $$
The highest role rank p_account_id may grant at p_merchant_id: any for the
service key (null) and platform admins; for staff who may invite (the
roles app.invite_members authorizes), their own role there, found as
app.acting_merchant finds it; none (0) for anyone else.
$$;

comment on function app.invite_members is $$
invite-users' other rows: grants a team or coaching role at the merchant.

p_users holds only rows that passed validation: [{i, email, name?, role}]
with i the row's index in the request, emails unique case-insensitively and
role never 'candidate'. A person with an account gets the role at once
(Activated, SubMerchantAdded or CoachingAccessAdded, with a notice email); a
person without one gets an invitation with a one-time accept link (Invited),
unless one is already open, its link still valid and its inviter still able
to grant its role (Skipped; p_force re-sends it). A role is never lowered.
Rows are independent: every row's fate is decided before anything is
written, so a row that fails writes nothing and the others go ahead.
Invitations of a merchant, and their acceptance, serialize on its
'invitations' advisory lock (app.merchant_lock_key), not on its row, which
belongs to its credits.

An API key caller (app.caller_api_key) grants at most merchant.

Returns {merchant_id, rows: [{i, result, profile_id?, invitation_id?} | {i, error}]}.
$$;

comment on function app.accept_invitation is $$
Accepts an invitation for the signed-in person (p_account_id = their JWT's
sub, p_email = its email claim). The caller has checked the link's
signature and expiry; this decides, under a row lock on the link, whether it
is still the invitation's live one. Of concurrent calls for one link the
first wins and the rest see it used. The account is created on first
acceptance, with the inviting merchant as home unless it has one or is a
platform admin's; the role is granted, never lowering one the person
already has.
$$;

comment on function app.api_key_json is $$
A key as the API shows it: everything but its digest.
$$;

comment on function app.api_key_manager_merchant is $$
The merchant whose API keys the caller manages: for its owners (or owners
of a parent merchant), platform admins and the service key; never for an
API key, so that a leaked key cannot mint keys or revoke the others.
$$;

comment on function app.create_api_key is $$
Creates an API key of a merchant (app.api_key_manager_merchant says for
whom). The caller mints the key: only its digest and prefix come here.
$$;

comment on function app.list_api_keys is $$
A merchant's keys, oldest first, revoked and expired ones included; for
the same callers as app.create_api_key.
$$;

comment on function app.revoke_api_key is $$
Revokes a key, for the same callers as app.create_api_key. The row lock
waits for requests that are using the key right now; every request after
the commit is refused. Revoking a revoked key changes nothing.
$$;

comment on table public.accounts is $$
A person who signs in (auth.users on a real project: id is the JWT's sub).
$$;

comment on table public.interviews is $$
interview_def_set: an interview candidates are registered for and take.
$$;

comment on table public.positions is $$
position_def_set: a job position that points at the interview candidates take.
$$;

comment on table public.profile_interviews is $$
profile_interview: one candidate's registration for one interview.
$$;

comment on table public.interview_tokens is $$
The claims of every interview token ever minted. The token itself is never
stored: HS256 over the same claims yields the same token again.
$$;

comment on table public.email_outbox is $$
Transactional outbox: a row is written in the same transaction as the
registration it belongs to, and a dispatcher delivers it.
$$;

comment on type app.batch_row is $$
A batch row as it moves between the statements of app.register_batch.
$$;

comment on table public.merchant_invitations is $$
An invitation to a role at a merchant, for a person who has no account yet.
It is open until accepted or revoked; each email carries a one-time link
(invitation_tokens), and the newest link is the only one that works.
$$;

comment on table public.invitation_tokens is $$
The claims of every accept link ever minted: as with interview tokens, the
token itself is never stored and can be minted again from these.
$$;

comment on table public.merchant_api_keys is $$
A merchant's long-lived API key. The key itself is never stored: only its
SHA-256 digest (unique, so a presented key is found by one index probe) and
the first characters (the prefix shown in lists so people can tell their
keys apart; far too short to use).
$$;
