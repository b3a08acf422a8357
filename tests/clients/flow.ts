// A short integration flow through a TypeScript client (openapi-typescript types + openapi-fetch),
// generated from openapi.yaml, against a running sandbox. Run by .ci/clients, which generates
// ./schema.d.ts next to a copy of this file, compiles it with `tsc --strict` and runs it with node:
//
//     node flow.js BASE_URL API_KEY
//
// Type checks come first: the `@ts-expect-error` lines only compile while the generated types
// refuse those bodies, so a submit body typed `unknown` (or any) fails the compile. The one thing
// a reader might get wrong: the sandbox must run with `--clock manual --start-time
// 2026-01-15T15:00:00Z` (the call is placed at 10:00 in New York, inside the dialer's hours), and
// the clock is advanced through the control plane, which is not in the public spec (plain fetch).

import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];

// --- the generated types say what the spec says -----------------------------------------------
const newLead: Schemas["LeadSubmitRequest"] = {
  campaignId: "HXZ", firstName: "Jane", lastName: "Client", email: "jane@example.com", phone: "+12125550101",
};
const knownLead: Schemas["LeadSubmitRequest"] = { campaignId: "HXZ", leadId: "lead_7k2m9q4x1c3v" };
// @ts-expect-error -- neither leadId nor the four contact fields of a new lead
const neither: Schemas["LeadSubmitRequest"] = { campaignId: "HXZ" };
// @ts-expect-error -- the submit body is strict: no unknown fields
const unknownField: Schemas["LeadSubmitRequest"] = { campaignId: "HXZ", leadId: "lead_x", tags: ["x"] };
// @ts-expect-error -- campaignId is always required
const noCampaign: Schemas["LeadSubmitRequest"] = { leadId: "lead_x" };
const plainRetry: Schemas["RepostRequest"] = {};
// updateLead answers `"data": null`, a named type
const nothing: Schemas["LeadUpdatedEnvelope"]["data"] = null;
// @ts-expect-error -- NoData is null only
const something: Schemas["NoData"] = {};
void [newLead, knownLead, neither, unknownField, noCampaign, plainRetry, nothing, something];

// --- the flow ------------------------------------------------------------------------------------
const PHONE = "+12125550101"; // scenario number: the call is answered and completes
const MESSAGE = "Hi Jane, thanks for talking with us. Reply here with any question.";
const steps: string[] = [];

class Mismatch extends Error {}

function expect<T>(what: string, actual: T, wanted: T): void {
  if (JSON.stringify(actual) !== JSON.stringify(wanted)) {
    throw new Mismatch(`${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(wanted)}`);
  }
}

/** The `data` of a 200 envelope, or a Mismatch naming the status and error that came instead. */
function ok<D>(what: string, result: { data?: { success: true; data: D }; error?: unknown; response: Response }): D {
  if (result.response.status !== 200 || result.data === undefined) {
    throw new Mismatch(`${what}: HTTP ${result.response.status} ${JSON.stringify(result.error)}`);
  }
  expect(`${what}: success`, result.data.success, true);
  steps.push(what);
  return result.data.data;
}

async function run(baseUrl: string, apiKey: string): Promise<void> {
  const client = createClient<paths>({ baseUrl, headers: { "X-API-Key": apiKey } });

  // 1. submit a new lead
  const submitted = ok("submitLead", await client.POST("/api/v1/leads/submit", {
    body: {
      campaignId: "HXZ", firstName: "  jane ", lastName: "client", email: "Jane.Client@Example.COM", phone: PHONE,
      country: "US", address: { street: "1 Main St", city: "New York", state: "NY", zip: "10001" },
      notes: "Prefers a call in the morning.",
    },
  }));
  const status: Schemas["LeadStatus"] = submitted.status;
  expect("submitLead: status", status, "pending");
  const leadId = submitted.leadId;
  const byLead = { params: { path: { leadId } } };

  // 2. read it back
  let lead: Schemas["Lead"] = ok("getLead", await client.GET("/api/v1/leads/{leadId}", byLead));
  expect("getLead: leadId", lead.leadId, leadId);
  expect("getLead: name", [lead.firstName, lead.lastName], ["Jane", "Client"]);
  expect("getLead: email", lead.email, "jane.client@example.com");
  expect("getLead: campaign", lead.campaign.campaignId, "HXZ");
  expect("getLead: address", lead.address?.city, "New York");
  expect("getLead: timezone", [lead.timezone, lead.timezoneSource], ["America/New_York", "area_code"]);
  expect("getLead: notes", lead.notes.map((note) => note.text), ["Prefers a call in the morning."]);

  // 3. patch it; the reply's data is null. openapi-fetch 0.17 drops a property typed exactly `null`
  // from response types (openapi-ts/openapi-typescript#2717), so the envelope is read through the
  // schema's own type, which keeps `data: null`.
  const patched = await client.PATCH("/api/v1/leads/{leadId}", {
    ...byLead,
    body: { detail: "Reached by the client flow.", tags: ["client-flow"],
            notes: [{ text: "Patched through the generated client." }] },
  });
  const envelope = patched.data as Schemas["LeadUpdatedEnvelope"] | undefined;
  expect("updateLead: reply", [patched.response.status, envelope], [200, { success: true, data: null }]);
  steps.push("updateLead");
  lead = ok("getLead after updateLead", await client.GET("/api/v1/leads/{leadId}", byLead));
  expect("getLead: detail", lead.detail, "Reached by the client flow.");
  expect("getLead: tags", lead.tags, ["client-flow"]);
  expect("getLead: notes", lead.notes.length, 2);

  // 4. a test call
  const started = ok("initiateCall", await client.POST("/api/v1/voice/calls/initiate", {
    body: { leadId, isTest: true, additionalInstructions: "Confirm the best time to call." },
  }));
  expect("initiateCall: leadId", started.leadId, leadId);
  expect("initiateCall: campaignId", started.campaignId, "HXZ");
  const callId = started.interactionId;

  // 5. advance the sandbox clock (control plane) until the call is over
  const advanced = await fetch(`${baseUrl}/_sandbox/clock/advance`, {
    method: "POST", headers: { "X-API-Key": apiKey, "Content-Type": "application/json" },
    body: JSON.stringify({ seconds: 900 }),
  });
  expect("POST /_sandbox/clock/advance: status", advanced.status, 200);
  steps.push("advanceClock");

  // 6. the finished call
  const call = ok("getInteraction", await client.GET("/api/v1/interactions/{interactionId}", {
    params: { path: { interactionId: callId } },
  }));
  expect("getInteraction: interactionId", call.interactionId, callId);
  const callStatus: Schemas["InteractionStatus"] = call.status;
  expect("getInteraction: type/status", [call.type, callStatus], ["call", "completed"]);
  expect("getInteraction: phone", call.phone, PHONE);
  expect("getInteraction: call.source", call.call?.source, "api");
  expect("getInteraction: call.duration > 0", (call.call?.duration ?? 0) > 0, true);
  expect("getInteraction: transcript", call.transcript.length > 0, true);

  // 7. an SMS to the lead
  const sent = ok("sendSms", await client.POST("/api/v1/sms/send", { body: { leadId, message: MESSAGE } }));
  expect("sendSms: status", sent.status, "sent");

  // 8. the lead's interactions, newest first
  const listed = ok("listLeadInteractions", await client.GET("/api/v1/interactions/lead/{leadId}", byLead));
  expect("listLeadInteractions: ids", listed.interactions.slice(0, 2).map((item) => item.interactionId),
         [sent.interactionId, callId]);
  const thread = listed.interactions[0];
  expect("listLeadInteractions: sms type", thread.type, "sms");
  expect("listLeadInteractions: sms text", thread.transcript[thread.transcript.length - 1].message, MESSAGE);

  // 9. errors come back typed as the error envelope
  const missing = await client.GET("/api/v1/leads/{leadId}", { params: { path: { leadId: "lead_not_there" } } });
  expect("getLead unknown: status/code", [missing.response.status, missing.error?.error.code], [404, "NOT_FOUND"]);
  const refused = await client.POST("/api/v1/leads/submit", {
    body: { campaignId: "HXZ" } as unknown as Schemas["LeadSubmitRequest"],
  });
  expect("submitLead without contact: status", refused.response.status, 400);
  expect("submitLead without contact: details", refused.error?.error.details,
         ["firstName: is required", "lastName: is required", "email: is required", "phone: is required"]);
  steps.push("error envelopes");
}

async function main(): Promise<number> {
  const [baseUrl, apiKey] = process.argv.slice(2);
  if (!baseUrl || !apiKey) {
    console.error("usage: node flow.js BASE_URL API_KEY");
    return 2;
  }
  try {
    await run(baseUrl.replace(/\/+$/, ""), apiKey);
  } catch (exc) {
    if (!(exc instanceof Mismatch)) throw exc;
    console.error(`typescript client flow FAILED after ${steps.length} steps: ${exc.message}`);
    return 1;
  }
  console.log(`typescript client flow: ${steps.length} steps passed (${steps.join(", ")})`);
  return 0;
}

process.exitCode = await main();
