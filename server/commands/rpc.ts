import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { LarderError, invalidArgument } from "../core/errors.js";
import {
  CommandEventKind,
  ServedFrom,
  type ListCommandEventsRequest,
  type ListCommandEventsResponseSchema,
  type RunCommandRequest,
  type RunCommandResponseSchema,
} from "../gen/larder/v1/command_pb.js";
import type { CommandRunner, RunResult } from "./runner.js";

const servedFrom = { live: ServedFrom.LIVE, cached: ServedFrom.CACHED, fallback: ServedFrom.FALLBACK } as const;

/**
 * RunCommand on the wire: maps the request to the runner and its result
 * back. Without a runner (no commands configured) every name is undefined.
 */
export async function runCommandRpc(
  runner: CommandRunner | undefined,
  req: RunCommandRequest,
  ns: string,
  signal: AbortSignal,
): Promise<MessageInitShape<typeof RunCommandResponseSchema>> {
  if (req.name === "") throw invalidArgument("name", "required");
  if (runner === undefined) throw new LarderError("notFound", `command "${req.name}" is not defined in namespace "${ns}"`);
  const body = req.body?.kind.case === undefined ? undefined : req.body.kind.value;
  const r = await runner.run(ns, { name: req.name, args: req.args, headers: req.headers, body }, signal);
  return resultMessage(r);
}

function resultMessage(r: RunResult): MessageInitShape<typeof RunCommandResponseSchema> {
  const b = r.response.body;
  return {
    status: r.response.status,
    headers: r.response.headers.map(([name, value]) => ({ name, value })),
    body: b.kind === "text" ? { kind: { case: "text", value: b.text } } : { kind: { case: "binary", value: Buffer.from(b.base64, "base64") } },
    cacheFallback: r.cacheFallback,
    servedFrom: servedFrom[r.servedFrom],
    ageMs: BigInt(r.ageMs),
    url: r.url,
  };
}

/** ListCommandEvents on the wire: newest first, default 100, at most 1000. */
export async function listCommandEventsRpc(
  runner: CommandRunner | undefined,
  req: ListCommandEventsRequest,
  ns: string,
): Promise<MessageInitShape<typeof ListCommandEventsResponseSchema>> {
  if (req.limit < 0 || req.limit > 1000) throw invalidArgument("limit", "must be from 0 (default 100) to 1000");
  if (runner === undefined) return { events: [] };
  const events = await runner.events(ns, req.command === "" ? undefined : req.command, req.limit === 0 ? 100 : req.limit);
  return {
    events: events.map((e) => ({
      time: timestampFromMs(e.time),
      command: e.command,
      upstreamStatus: e.upstreamStatus,
      kind: e.kind === "activated" ? CommandEventKind.FALLBACK_ACTIVATED : CommandEventKind.FALLBACK_DEACTIVATED,
      level: "info",
    })),
  };
}
