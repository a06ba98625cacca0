import type { Api } from "../api.js";
import { clock, duration, ms } from "../format.js";
import { useNow, usePoll } from "../poll.js";

/** The namespace's live locks: holder, fencing token, expiry counting down; polled every 3 s. */
export function Locks(props: { readonly api: Api; readonly scope: string }) {
  const locks = usePoll(() => props.api.cache.listLocks({ limit: 200 }), 3000, [props.api, props.scope]);
  const now = useNow();
  const list = [...(locks.data?.locks ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return (
    <section class="view" data-view="locks">
      {locks.error !== undefined ? <p class="error" role="alert">{locks.error}</p> : null}
      <table data-testid="locks">
        <thead>
          <tr><th>lock</th><th>holder</th><th>fencing token</th><th>expires in</th><th>expires at</th></tr>
        </thead>
        <tbody>
          {list.map((l) => {
            const at = ms(l.holder?.expiresAt);
            return (
              <tr key={l.name}>
                <td class="mono">{l.name}</td>
                <td>{l.holder?.owner === "" ? <span class="muted">(no label)</span> : l.holder?.owner}</td>
                <td>{String(l.holder?.fencingToken ?? 0n)}</td>
                <td>{at === undefined ? "—" : duration(at - now)}</td>
                <td>{clock(at)}</td>
              </tr>
            );
          })}
          {locks.data !== undefined && list.length === 0 ? (
            <tr><td colSpan={5} class="muted">No lock is held.</td></tr>
          ) : null}
        </tbody>
      </table>
      {locks.data?.nextCursor !== undefined && locks.data.nextCursor !== "" ? <p class="muted">Showing the first 200 locks.</p> : null}
    </section>
  );
}
