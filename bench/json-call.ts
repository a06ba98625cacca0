import { manyKeys, type EncodedRequest, type Op } from "./payloads.js";

/**
 * Makes one Connect unary JSON call over HTTP/1.1 with the body h2load will
 * send, and checks the answer, so that a load run never measures a server
 * that answers errors or misses quickly.
 */
export async function verifyJsonH1(baseUrl: string, op: Op, request: EncodedRequest): Promise<void> {
  const res = await fetch(new URL(request.path, baseUrl), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: request.json,
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${request.path}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  const problem = checkJsonAnswer(op, JSON.parse(text) as Record<string, unknown>);
  if (problem !== undefined) throw new Error(`${request.path}: ${problem}`);
}

function checkJsonAnswer(op: Op, answer: Record<string, unknown>): string | undefined {
  switch (op) {
    case "get-hit":
      return answer["found"] === true ? undefined : "Get answered a miss where a hit was primed";
    case "get-miss":
      return answer["found"] === true ? "Get answered a hit for a key never written" : undefined;
    case "set":
      return answer["applied"] === true ? undefined : "Set was not applied";
    case "get-many": {
      const items = answer["items"];
      return Array.isArray(items) && items.length === manyKeys && items.every((i: { found?: unknown }) => i.found === true)
        ? undefined
        : "GetMany did not answer every primed key";
    }
    case "increment":
      return typeof answer["value"] === "string" ? undefined : "Increment answered no value";
  }
}
