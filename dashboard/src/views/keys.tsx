import { useEffect, useState } from "preact/hooks";
import { describeError, type Api } from "../api.js";
import { Confirm } from "../confirm.js";
import { clock, duration, ms, showValue } from "../format.js";
import { useNow, usePoll } from "../poll.js";
import { SetMode } from "../../../server/gen/larder/v1/cache_pb.js";

const pageSize = 50;

/** Options of {@link Keys}. */
export interface KeysProps {
  readonly api: Api;
  /** Changes when the namespace or key does: the listing starts over. */
  readonly scope: string;
}

/** The key browser: a glob search with pages, and the open entry with its actions. */
export function Keys(props: KeysProps) {
  const [input, setInput] = useState("*");
  const [pattern, setPattern] = useState("*");
  // The cursor of each page seen so far; [0] is the first page's "".
  const [cursors, setCursors] = useState<string[]>([""]);
  const [page, setPage] = useState(0);
  const [open, setOpen] = useState<string | undefined>(undefined);
  useEffect(() => {
    setCursors([""]);
    setPage(0);
    setOpen(undefined);
  }, [props.scope, pattern]);
  const listing = usePoll(() => props.api.cache.keys({ pattern, cursor: cursors[page] ?? "", limit: pageSize }), 5000, [props.api, props.scope, pattern, page]);
  const next = listing.data?.nextCursor ?? "";
  const keys = [...(listing.data?.keys ?? [])].sort();
  return (
    <section class="view" data-view="keys">
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setPattern(input === "" ? "*" : input);
          listing.refresh();
        }}
      >
        <label>
          Pattern <input name="pattern" value={input} onInput={(e) => setInput(e.currentTarget.value)} spellcheck={false} />
        </label>
        <button type="submit" class="primary">Search</button>
        <span class="muted">glob: * ? [a-z] and \ to escape</span>
      </form>
      {listing.error !== undefined ? <p class="error" role="alert">{listing.error}</p> : null}
      <div class="split">
        <div class="keylist">
          <ul data-testid="keys">
            {keys.map((k) => (
              <li key={k}>
                <button type="button" class={`key ${k === open ? "selected" : ""}`} onClick={() => setOpen(k)}>{k}</button>
              </li>
            ))}
            {listing.data !== undefined && keys.length === 0 ? <li class="muted">no keys on this page</li> : null}
          </ul>
          <div class="pager">
            <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>← Previous</button>
            <span>page {page + 1}</span>
            <button
              type="button"
              disabled={next === ""}
              onClick={() => {
                setCursors([...cursors.slice(0, page + 1), next]);
                setPage(page + 1);
              }}
            >
              Next →
            </button>
          </div>
        </div>
        {open === undefined ? (
          <p class="muted">Pick a key to see its value.</p>
        ) : (
          <EntryView key={`${props.scope}\u0000${open}`} api={props.api} entryKey={open} onGone={() => { setOpen(undefined); listing.refresh(); }} />
        )}
      </div>
    </section>
  );
}

type Pending = { readonly action: "delete" } | { readonly action: "extend"; readonly seconds: number } | { readonly action: "edit"; readonly json: string };

/** One entry: value, metadata, a TTL counting down, and Delete / Extend / Edit behind a confirmation. */
function EntryView(props: { readonly api: Api; readonly entryKey: string; readonly onGone: () => void }) {
  const key = props.entryKey;
  const entry = usePoll(() => props.api.cache.get({ key }), 5000, [props.api, key]);
  const now = useNow();
  const [binaryAs, setBinaryAs] = useState<"hex" | "base64">("hex");
  const [extendBy, setExtendBy] = useState("60");
  const [editing, setEditing] = useState<string | undefined>(undefined);
  const [pending, setPending] = useState<Pending | undefined>(undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const e = entry.data;
  if (e === undefined) return <div class="entry">{entry.error !== undefined ? <p class="error" role="alert">{entry.error}</p> : <p class="muted">Loading…</p>}</div>;
  if (!e.found) return <div class="entry"><p class="muted" data-testid="entry-missing">“{key}” does not exist (any more).</p></div>;
  const shown = showValue(e.value, binaryAs);
  const meta = e.metadata;
  const expires = ms(meta?.expiresAt);
  const run = async (p: Pending): Promise<void> => {
    setPending(undefined);
    try {
      if (p.action === "delete") {
        await props.api.cache.delete({ keys: [key] });
        props.onGone();
        return;
      }
      if (p.action === "extend") {
        const r = await props.api.cache.extend({ key, addMs: BigInt(p.seconds * 1000) });
        setMessage(r.found ? `Extended by ${p.seconds} s.` : "The key is gone.");
      } else {
        // Compare-and-set on the version shown: an edit never overwrites a
        // write the user has not seen. The remaining TTL is kept.
        const left = expires === undefined ? undefined : Math.max(1, expires - Date.now());
        const r = await props.api.cache.set({
          key,
          value: { kind: { case: "json", value: JSON.stringify(JSON.parse(p.json)) } },
          expiry: left === undefined ? { case: "noExpiry", value: true } : { case: "ttlMs", value: BigInt(left) },
          mode: SetMode.IF_VERSION,
          ifVersion: meta?.version ?? 0n,
        });
        setMessage(r.applied ? `Saved as version ${String(r.version)}.` : `Not saved: the entry changed meanwhile (now version ${String(r.version)}).`);
        if (r.applied) setEditing(undefined);
      }
    } catch (err) {
      setMessage(describeError(err));
    }
    entry.refresh();
  };
  let editError: string | undefined;
  if (editing !== undefined) {
    try {
      JSON.parse(editing);
    } catch (err) {
      editError = (err as Error).message;
    }
  }
  return (
    <div class="entry" data-testid="entry">
      <h2 class="entry-key">{key}</h2>
      <dl class="meta">
        <dt>TTL</dt>
        <dd data-testid="ttl">{expires === undefined ? "no expiry" : duration(expires - now)}</dd>
        <dt>Expires</dt>
        <dd>{expires === undefined ? "never" : clock(expires)}</dd>
        <dt>Version</dt>
        <dd data-testid="version">{String(meta?.version ?? 0n)}</dd>
        <dt>Created</dt>
        <dd>{clock(ms(meta?.createdAt))}</dd>
        <dt>Updated</dt>
        <dd>{clock(ms(meta?.updatedAt))}</dd>
        <dt>Last read</dt>
        <dd>{clock(ms(meta?.lastReadAt))}</dd>
        <dt>Value</dt>
        <dd>
          {shown.kind === "json" ? "JSON" : "binary"}, {shown.bytes} bytes
          {shown.kind === "binary" ? (
            <button type="button" class="link" onClick={() => setBinaryAs(binaryAs === "hex" ? "base64" : "hex")}>
              show as {binaryAs === "hex" ? "base64" : "hex"}
            </button>
          ) : null}
        </dd>
      </dl>
      <div class="actions">
        <label>
          +<input class="short" type="number" min="1" value={extendBy} onInput={(ev) => setExtendBy(ev.currentTarget.value)} aria-label="seconds to add" /> s
        </label>
        <button type="button" onClick={() => setPending({ action: "extend", seconds: Math.max(1, Math.floor(Number(extendBy) || 0)) })}>Extend</button>
        {shown.kind === "json" ? (
          <button type="button" onClick={() => setEditing(editing === undefined ? shown.text : undefined)}>{editing === undefined ? "Edit" : "Cancel edit"}</button>
        ) : null}
        <button type="button" class="danger" onClick={() => setPending({ action: "delete" })}>Delete</button>
      </div>
      {message !== undefined ? <p class="note" role="status">{message}</p> : null}
      {editing === undefined ? (
        <pre class="value" data-testid="value">{shown.text}</pre>
      ) : (
        <div class="editor">
          <textarea spellcheck={false} value={editing} onInput={(ev) => setEditing(ev.currentTarget.value)} aria-label="value as JSON" />
          {editError !== undefined ? <p class="error">{editError}</p> : null}
          <button type="button" class="primary" disabled={editError !== undefined} onClick={() => setPending({ action: "edit", json: editing })}>Save</button>
        </div>
      )}
      {pending === undefined ? null : (
        <Confirm
          title={pending.action === "delete" ? "Delete this key?" : pending.action === "extend" ? "Extend this key's TTL?" : "Save the new value?"}
          confirmLabel={pending.action === "delete" ? "Delete" : pending.action === "extend" ? "Extend" : "Save"}
          danger={pending.action === "delete"}
          onCancel={() => setPending(undefined)}
          onConfirm={() => void run(pending)}
        >
          <p class="mono">{key}</p>
          {pending.action === "extend" ? <p>Adds {pending.seconds} s to the remaining TTL.</p> : null}
          {pending.action === "edit" ? <p>Writes only if the entry is still at version {String(meta?.version ?? 0n)}; the TTL is kept.</p> : null}
          {pending.action === "delete" ? <p>This cannot be undone.</p> : null}
        </Confirm>
      )}
    </div>
  );
}
