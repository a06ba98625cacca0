import type { Api } from "../api.js";
import { clock, duration, ms } from "../format.js";
import { usePoll } from "../poll.js";
import { CommandEventKind } from "../../../server/gen/larder/v1/command_pb.js";

/** The namespace's commands (no secrets), identities in fallback, and the activation timeline; polled every 5 s. */
export function Commands(props: { readonly api: Api; readonly scope: string }) {
  const states = usePoll(() => props.api.admin.listCommandStates({ limit: 50 }), 5000, [props.api, props.scope]);
  const events = usePoll(() => props.api.cache.listCommandEvents({ limit: 100 }), 5000, [props.api, props.scope]);
  const commands = states.data?.commands ?? [];
  return (
    <section class="view" data-view="commands">
      {states.error !== undefined ? <p class="error" role="alert">{states.error}</p> : null}
      {states.data !== undefined && commands.length === 0 ? <p class="muted">No command is defined in this namespace.</p> : null}
      <div class="commands">
        {commands.map((c) => {
          const inFallback = c.identities.filter((i) => i.fallback).length;
          return (
            <article class="command" key={c.name} data-command={c.name}>
              <h2>
                {c.name}{" "}
                <span class={`badge ${inFallback > 0 ? "bad" : "ok"}`} data-testid="fallback">
                  {inFallback > 0 ? `fallback on (${inFallback})` : "fallback off"}
                </span>
              </h2>
              <p class="mono">{c.method} {c.url}</p>
              <dl class="meta">
                <dt>Args</dt>
                <dd>{c.args.length === 0 ? "—" : c.args.join(", ")}</dd>
                <dt>Headers</dt>
                <dd>{c.headers.length === 0 ? "—" : c.headers.map((h) => (h.secret ? `${h.name}: (secret)` : `${h.name}: ${h.value}`)).join("; ")}</dd>
                <dt>Passed</dt>
                <dd>{c.passHeaders.length === 0 ? "—" : c.passHeaders.join(", ")}</dd>
                <dt>Cache</dt>
                <dd>{c.cacheSeconds === 0 ? "not cached" : `${c.cacheSeconds} s fresh, 24 h for fallback`}; timeout {c.timeoutMs} ms</dd>
              </dl>
              {c.identities.length > 0 ? (
                <table>
                  <thead>
                    <tr><th>identity</th><th>mode</th><th>last upstream</th><th>response age</th><th>last live call</th></tr>
                  </thead>
                  <tbody>
                    {c.identities.map((i) => (
                      <tr key={i.id} class={i.fallback ? "bad" : ""}>
                        <td class="mono">{i.id.slice(c.name.length + 1, c.name.length + 13)}…</td>
                        <td>{i.fallback ? "fallback" : "normal"}</td>
                        <td>{i.lastUpstreamStatus === 0 ? "failed (no answer)" : String(i.lastUpstreamStatus)}</td>
                        <td>{i.responseAgeMs < 0n ? "none kept" : duration(Number(i.responseAgeMs) + 999)}</td>
                        <td>{clock(ms(i.updatedAt))}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : null}
            </article>
          );
        })}
      </div>
      <h2>Fallback events</h2>
      {events.error !== undefined ? <p class="error" role="alert">{events.error}</p> : null}
      <ol class="timeline" data-testid="events">
        {(events.data?.events ?? []).map((e, n) => {
          const on = e.kind === CommandEventKind.FALLBACK_ACTIVATED;
          return (
            <li key={`${n}-${String(ms(e.time))}`} class={on ? "bad" : "ok"}>
              <time>{clock(ms(e.time))}</time> <strong>{e.command}</strong> fallback {on ? "activated" : "deactivated"}
              {" — upstream "}
              {e.upstreamStatus === 0 ? "did not answer" : `answered ${e.upstreamStatus}`}
            </li>
          );
        })}
        {events.data !== undefined && events.data.events.length === 0 ? <li class="muted">No fallback change in the last 24 h.</li> : null}
      </ol>
    </section>
  );
}
