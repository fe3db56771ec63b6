import assert from "node:assert/strict";
import { parse } from "yaml";
import { createClient } from "@supabase/supabase-js";
import { SEED, userToken } from "./_support/credentials.ts";
import { createMerchant, merchantFootprint } from "./_support/fixtures.ts";
import { LOCAL_ANON_JWT } from "../supabase/functions/_shared/config.ts";
import { API_FUNCTIONS } from "../supabase/functions/_shared/api_functions.ts";
import { buildOpenApiDocument } from "../supabase/functions/_shared/openapi.ts";
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

Deno.test(
  "every operation has an operationId (JobMojito's tool names), every security scheme is declared, and the paths are the routes",
  async () => {
    const ours = await (await fetch(`${server.functionsUrl}/openapi`)).json();
    const operations = Object.entries<Schema>(ours.paths).flatMap(([path, item]) =>
      Object.entries<Schema>(item).map(([method, operation]) => ({
        key: `${method.toUpperCase()} ${path}`,
        operation,
      }))
    );
    const ids = operations.map(({ operation }) => operation.operationId);
    assert.ok(ids.every((id) => typeof id === "string" && id.length > 0), JSON.stringify(ids));
    assert.equal(new Set(ids).size, ids.length, "operationIds are unique");
    assert.equal(
      ours.paths["/job-interview-register-users"].post.operationId,
      "register_users_for_interview",
    );
    assert.equal(ours.paths["/invite-users"].post.operationId, "invite_users");
    for (const { key, operation } of operations) {
      for (const requirement of operation.security) {
        for (const scheme of Object.keys(requirement)) {
          assert.ok(ours.components.securitySchemes[scheme], `${key}: ${scheme} is not declared`);
        }
      }
    }
    // The document's operations are exactly the routes the API functions serve.
    const routes = Object.entries(API_FUNCTIONS).flatMap(([, definition]) =>
      definition.app(server.runtime).routes.filter((r) => r.method !== "ALL").map((r) =>
        `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`
      )
    );
    assert.deepEqual(operations.map(({ key }) => key).toSorted(), routes.toSorted());
  },
);

Deno.test("the document cannot drift from the routes: an undocumented route or a routeless operation is an error", () => {
  const config = server.runtime.config;
  assert.throws(
    () => buildOpenApiDocument(config, [{ method: "POST", path: "/job-interview-register-users" }]),
    /without a route/,
  );
  const routes = Object.values(API_FUNCTIONS).flatMap((definition) =>
    definition.app(server.runtime).routes.filter((r) => r.method !== "ALL")
  );
  assert.throws(
    () => buildOpenApiDocument(config, [...routes, { method: "GET", path: "/invite-users" }]),
    /undocumented/,
  );
});

Deno.test("Redocly's recommended rules pass on the served document, warnings included", async () => {
  const document = await (await fetch(`${server.functionsUrl}/openapi`)).text();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/openapi.json`, document);
    const { stdout, stderr } = await new Deno.Command("npx", {
      args: ["-y", "@redocly/cli@2.77.0", "lint", "--format=json", "openapi.json"],
      cwd: dir,
      env: { NO_COLOR: "1", REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(stdout);
    const report = JSON.parse(text.slice(text.indexOf("{")));
    assert.deepEqual(
      report.totals,
      { errors: 0, warnings: 0, ignored: 0 },
      JSON.stringify(report.problems, null, 1) + new TextDecoder().decode(stderr).slice(-2000),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GET /openapi/reference: an interactive reference page holding the document", async () => {
  const res = await fetch(`${server.functionsUrl}/openapi/reference`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/html/);
  const html = await res.text();
  assert.match(html, /<title>JobMojito-compatible registration API<\/title>/);
  assert.ok(
    html.includes(`<script src="${server.runtime.config.apiReferenceScriptUrl}"`),
    "the pinned script",
  );
  assert.match(server.runtime.config.apiReferenceScriptUrl, /@scalar\/api-reference@\d+\.\d+\.\d+\//);
  for (const id of ["register_users_for_interview", "invite_users", "retry_failed_emails"]) {
    assert.ok(html.includes(id), id);
  }
});
