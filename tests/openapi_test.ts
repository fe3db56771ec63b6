import assert from "node:assert/strict";
import { parse } from "yaml";
import { createClient } from "@supabase/supabase-js";
import { SEED, userToken } from "./_support/credentials.ts";
import { createMerchant, merchantFootprint } from "./_support/fixtures.ts";
import { LOCAL_ANON_JWT } from "../supabase/functions/_shared/config.ts";
import { fileServer } from "./_support/suite.ts";

const server = await fileServer();

// Walking two arbitrary JSON documents side by side: any is the honest type.
// deno-lint-ignore no-explicit-any
type Schema = Record<string, any>;

/** A seed's OpenAPI (a YAML block inside the stored reference page): JobMojito's unless named. */
async function seedDocument(file = "000_e5c672d3c1230bea.txt"): Promise<Schema> {
  const text = await Deno.readTextFile(new URL(`../../shared/seeds/${file}`, import.meta.url));
  return parse(text.split("````yaml")[1].split("\n").slice(1).join("\n").split("````")[0]);
}

function resolve(doc: Schema, schema: Schema): Schema {
  return schema.$ref ? resolve(doc, doc.components.schemas[schema.$ref.split("/").pop()]) : schema;
}

/** The JSON types a schema admits, reading OpenAPI 3.0 (`nullable`) and 3.1 (`type: [..., "null"]`) alike. */
function typesOf(doc: Schema, raw: Schema): Set<string> {
  const schema = resolve(doc, raw);
  const types = new Set<string>();
  for (const alternative of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) {
    for (const t of typesOf(doc, alternative)) types.add(t);
  }
  for (const t of [schema.type ?? []].flat()) types.add(t);
  if (schema.nullable || schema.const === null) types.add("null");
  if (schema.enum) { for (const value of schema.enum) types.add(value === null ? "null" : typeof value); }
  return types;
}

/**
 * Every field of the seed's schema exists in ours, admitting at least the
 * seed's types; in requests we also require nothing the seed leaves optional.
 */
function assertCompatible(seed: Schema, ours: Schema, seedRaw: Schema, oursRaw: Schema, where: string) {
  const a = resolve(seed, seedRaw);
  const b = resolve(ours, oursRaw);
  const seedTypes = typesOf(seed, a);
  const ourTypes = typesOf(ours, b);
  for (const t of seedTypes) {
    assert(ourTypes.has(t) || ourTypes.size === 0, `${where}: seed admits ${t}, ours ${[...ourTypes]}`);
  }
  if (a.format && b.format !== undefined) assert.deepEqual(b.format, a.format, `${where}: format`);
  if (a.items) assertCompatible(seed, ours, a.items, b.items, `${where}[]`);
  for (const [name, property] of Object.entries<Schema>(a.properties ?? {})) {
    assert(b.properties?.[name], `${where}.${name} is missing`);
    assertCompatible(seed, ours, property, b.properties[name], `${where}.${name}`);
  }
  if (!where.startsWith("request")) return;
  for (const required of b.required ?? []) {
    assert((a.required ?? []).includes(required), `${where}: we require ${required}, the seed does not`);
  }
}

Deno.test("GET /openapi serves an OpenAPI 3.1 document compatible with the seed's", async () => {
  const res = await fetch(`${server.functionsUrl}/openapi`);
  assert.deepEqual(res.status, 200);
  const ours = await res.json();
  const seed = await seedDocument();
  assert.deepEqual(ours.openapi, "3.1.0");
  const path = "/job-interview-register-users";
  const seedOp = seed.paths[path].post;
  const ourOp = ours.paths[path].post;
  assert(ourOp, "the endpoint is documented");
  for (const status of Object.keys(seedOp.responses)) {
    assert(ourOp.responses[status], `response ${status} documented`);
  }
  assertCompatible(
    seed,
    ours,
    seedOp.requestBody.content["application/json"].schema,
    ourOp.requestBody.content["application/json"].schema,
    "request",
  );
  assertCompatible(
    seed,
    ours,
    seedOp.responses["200"].content["application/json"].schema,
    ourOp.responses["200"].content["application/json"].schema,
    "response",
  );
  assertCompatible(seed, ours, seed.components.schemas.Error, ours.components.schemas.Error, "Error");
  assert.deepEqual(ours.components.securitySchemes.bearerAuth.scheme, "bearer");
  assert(ours.paths["/interview-token-redeem"].post, "redemption is documented too");
});

Deno.test(
  "POST /interview/invite is documented compatibly with micro1's OpenAPI (seed 004)",
  async () => {
    const ours = await (await fetch(`${server.functionsUrl}/openapi`)).json();
    const seed = await seedDocument("004_f5d1f7eca8c5e3d0.txt");
    const seedOp = seed.paths["/interview/invite"].post;
    const ourOp = ours.paths["/interview/invite"].post;
    const json = (op: Schema, status?: string) =>
      (status ? op.responses[status] : op.requestBody).content["application/json"].schema;
    assertCompatible(seed, ours, json(seedOp), json(ourOp), "request");
    for (const status of Object.keys(seedOp.responses)) {
      assert(ourOp.responses[status], `response ${status} documented`);
      assertCompatible(seed, ours, json(seedOp, status), json(ourOp, status), `response ${status}`);
    }
    // micro1's only scheme, x-api-key, is one of ours.
    const [seedScheme] = Object.values<Schema>(seed.components.securitySchemes);
    const ourSchemes = ourOp.security.map((s: Schema) => ours.components.securitySchemes[Object.keys(s)[0]]);
    assert(ourSchemes.some((s: Schema) => s.in === seedScheme.in && s.name === seedScheme.name));
  },
);

Deno.test("the compatibility check can fail: a field dropped from our document is caught", async () => {
  const ours = await (await fetch(`${server.functionsUrl}/openapi`)).json();
  const seed = await seedDocument();
  delete ours.components.schemas.JobInterviewRegisterUsersRequest.properties.hide_iframe;
  let failed = false;
  try {
    assertCompatible(
      seed,
      ours,
      seed.paths["/job-interview-register-users"].post.requestBody.content["application/json"].schema,
      ours.paths["/job-interview-register-users"].post.requestBody.content["application/json"].schema,
      "request",
    );
  } catch {
    failed = true;
  }
  assert(failed);
});

Deno.test("a merchant app calls the API through supabase-js functions.invoke", async () => {
  const fixture = await createMerchant(server.runtime.sql);
  const supabase = createClient(server.baseUrl, LOCAL_ANON_JWT, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: { headers: { Authorization: `Bearer ${await userToken(fixture.ownerId)}` } },
  });
  const { data, error } = await supabase.functions.invoke("job-interview-register-users", {
    body: {
      interview_id: fixture.interviewId,
      type: "invitation",
      users: [{ name: "Via SDK", email: "sdk@example.com" }],
    },
  });
  assert.deepEqual(error, null);
  assert.deepEqual(data[0].result, "ok");
  assert.deepEqual((await merchantFootprint(server.runtime.sql, fixture.merchantId)).emails, 1);

  const anon = createClient(server.baseUrl, LOCAL_ANON_JWT, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  const refused = await anon.functions.invoke("job-interview-register-users", {
    body: { interview_id: SEED.activeInterview, users: [{ email: "x@example.com" }] },
  });
  assert.deepEqual(refused.error?.name, "FunctionsHttpError");
  assert.deepEqual(refused.error?.context.status, 401);
  assert.deepEqual(await refused.error?.context.json(), { error: "Unauthenticated user" });
});
