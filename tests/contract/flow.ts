// The first steps of a municipal system with a typed client: openapi-typescript turns
// openapi/openapi.json into `schema.d.ts`, openapi-fetch calls the API with those types, and
// `tsc --strict` checks every call, body and answer against them before this runs.
//
// admin login -> municipality -> staff invitation -> staff accepts -> candidate -> the candidate
// accepts -> candidate login -> GET /me/plan -> WHO-5 answered.
//
// Usage: node flow.js BASE_URL ADMIN_USERNAME ADMIN_PASSWORD
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];

const [base, adminUser, adminPassword] = process.argv.slice(2);
if (!base || !adminUser || !adminPassword) {
  throw new Error("usage: node flow.js BASE_URL ADMIN_USERNAME ADMIN_PASSWORD");
}

const api = createClient<paths>({ baseUrl: base });

function ok<T>(what: string, answer: { data?: T; error?: unknown; response: Response }): T {
  if (answer.data === undefined) {
    throw new Error(`${what}: ${answer.response.status} ${JSON.stringify(answer.error)}`);
  }
  return answer.data;
}

const bearer = (token: Schemas["TokenResponse"]) => ({
  Authorization: `Bearer ${token.access_token}`,
});
const key = () => crypto.randomUUID();

async function main(adminUser: string, adminPassword: string): Promise<void> {
  const admin = bearer(
    ok("admin login", await api.POST("/api/v1/auth/login", {
      body: { username: adminUser, password: adminPassword },
    })),
  );
  const me: Schemas["Me"] = ok("GET /me", await api.GET("/api/v1/me", { headers: admin }));
  if (me.role !== "admin" || me.municipality_id !== null) {
    throw new Error(`GET /me as admin: ${JSON.stringify(me)}`);
  }

  // A three-digit municipality number nobody has taken yet (taken ones answer 409).
  let municipality: Schemas["Municipality"] | undefined;
  for (let attempt = 0; attempt < 30 && !municipality; attempt++) {
    const code = String(100 + Math.floor(Math.random() * 900));
    const answer = await api.POST("/api/v1/municipalities", {
      headers: admin,
      params: { header: { "Idempotency-Key": key() } },
      body: { name: `TS Kommune ${code}`, code },
    });
    if (answer.data) {
      municipality = answer.data;
    } else if (answer.error?.status !== 409) {
      throw new Error(`POST /municipalities: ${JSON.stringify(answer.error)}`);
    }
  }
  if (!municipality) throw new Error("no free municipality number");

  const staff = ok("POST /staff", await api.POST("/api/v1/staff", {
    headers: admin,
    body: {
      municipality_id: municipality.id,
      display_name: "TS Koordinator",
      email: "ts.koordinator@example.org",
      role: "coordinator",
    },
  }));
  const suffix = key().slice(0, 8);
  const coordinator = bearer(
    ok("staff accepts", await api.POST("/api/v1/auth/invitations/{code}/accept", {
      params: { path: { code: staff.invitation.code } },
      body: { username: `ts.koord.${suffix}`, password: "ts-koordinator-2026" },
    })),
  );

  const created = ok("POST /candidates", await api.POST("/api/v1/candidates", {
    headers: coordinator,
    params: { header: { "Idempotency-Key": key() } },
    body: {
      given_name: "Sofie",
      family_name: "Jensen",
      birth_year: 2005,
      target_group: "mental_distress",
      readiness: "education_ready",
      consultant_id: staff.staff.id,
    },
  }));
  ok("candidate accepts", await api.POST("/api/v1/auth/invitations/{code}/accept", {
    params: { path: { code: created.invitation.code } },
    body: { username: `ts.sofie.${suffix}`, password: "ts-kandidat-2026" },
  }));
  const candidate = bearer(
    ok("candidate login", await api.POST("/api/v1/auth/login", {
      body: { username: `ts.sofie.${suffix}`, password: "ts-kandidat-2026" },
    })),
  );

  const plan: Schemas["Plan"] = ok("GET /me/plan", await api.GET("/api/v1/me/plan", { headers: candidate }));
  if (plan.candidate.id !== created.candidate.id || plan.latest_wellbeing !== null) {
    throw new Error(`GET /me/plan: ${JSON.stringify(plan)}`);
  }

  const items = ["cheerful", "calm", "active", "rested", "interested"];
  const answered = ok("POST /me/questionnaire-responses", await api.POST("/api/v1/me/questionnaire-responses", {
    headers: candidate,
    params: { header: { "Idempotency-Key": key() } },
    body: { questionnaire: "who5", version: 1, answers: items.map((item) => ({ item, value: 4 })) },
  }));
  if (answered.raw_score !== 20 || answered.score !== 80) {
    throw new Error(`WHO-5: ${JSON.stringify(answered)}`);
  }
  const after = ok("GET /me/plan after WHO-5", await api.GET("/api/v1/me/plan", { headers: candidate }));
  if (after.latest_wellbeing?.score !== 80) {
    throw new Error(`GET /me/plan after WHO-5: ${JSON.stringify(after)}`);
  }
  console.log("typescript client flow: ok");
}

await main(adminUser, adminPassword);
