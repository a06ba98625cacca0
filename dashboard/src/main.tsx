import { render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { createApi, rememberApiKey, rememberedApiKey, type Credentials } from "./api.js";
import { Commands } from "./views/commands.js";
import { Keys } from "./views/keys.js";
import { Locks } from "./views/locks.js";
import { Overview } from "./views/overview.js";
import "./style.css";

const views = ["overview", "keys", "locks", "commands"] as const;
type View = (typeof views)[number];

/** The view and namespace from the address' hash: `#/keys?ns=orders`. */
function readHash(): { view: View; ns: string } {
  const m = /^#\/([a-z]+)(?:\?(.*))?$/.exec(window.location.hash);
  const view = (views as readonly string[]).includes(m?.[1] ?? "") ? (m?.[1] as View) : "overview";
  const ns = new URLSearchParams(m?.[2] ?? "").get("ns") ?? "default";
  return { view, ns };
}

function writeHash(view: View, ns: string): void {
  const hash = `#/${view}?${new URLSearchParams({ ns }).toString()}`;
  if (window.location.hash !== hash) window.history.replaceState(null, "", hash);
}

function App() {
  const initial = readHash();
  const [view, setView] = useState<View>(initial.view);
  const [namespace, setNamespace] = useState(initial.ns);
  const [nsInput, setNsInput] = useState(initial.ns);
  const [apiKey, setApiKey] = useState(rememberedApiKey());
  const [keyInput, setKeyInput] = useState("");
  const [remember, setRemember] = useState(rememberedApiKey() !== "");
  useEffect(() => writeHash(view, namespace), [view, namespace]);
  useEffect(() => {
    const onHash = (): void => {
      const h = readHash();
      setView(h.view);
      setNamespace(h.ns);
      setNsInput(h.ns);
    };
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  const credentials: Credentials = { namespace, apiKey };
  // A new client set per identity, so that every view's polling starts over.
  const api = useMemo(() => createApi(() => credentials), [namespace, apiKey]);
  // Views start over when the identity changes; the key itself stays out of it.
  const scope = apiKey === "" ? `ns:${namespace}` : "key";
  const open = (ns: string): void => {
    setNamespace(ns);
    setNsInput(ns);
    setView("keys");
  };
  return (
    <>
      <header>
        <h1>Larder</h1>
        <nav>
          {views.map((v) => (
            <a key={v} href={`#/${v}?${new URLSearchParams({ ns: namespace }).toString()}`} class={v === view ? "active" : ""} aria-current={v === view ? "page" : undefined}>
              {v[0]?.toUpperCase()}
              {v.slice(1)}
            </a>
          ))}
        </nav>
        <form
          class="who"
          onSubmit={(e) => {
            e.preventDefault();
            setNamespace(nsInput === "" ? "default" : nsInput);
          }}
        >
          <label>
            Namespace{" "}
            <input
              name="namespace"
              value={apiKey === "" ? nsInput : "(the API key's)"}
              disabled={apiKey !== ""}
              onInput={(e) => setNsInput(e.currentTarget.value)}
              spellcheck={false}
            />
          </label>
          <button type="submit" disabled={apiKey !== ""}>Use</button>
        </form>
        <form
          class="who"
          onSubmit={(e) => {
            e.preventDefault();
            setApiKey(keyInput);
            rememberApiKey(remember ? keyInput : undefined);
            setKeyInput("");
          }}
        >
          {apiKey === "" ? (
            <>
              <label>
                API key <input name="apiKey" type="password" autocomplete="off" value={keyInput} onInput={(e) => setKeyInput(e.currentTarget.value)} />
              </label>
              <label class="check">
                <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.currentTarget.checked)} /> keep for this tab
              </label>
              <button type="submit">Sign in</button>
            </>
          ) : (
            <>
              <span class="muted">signed in with an API key</span>
              <button
                type="button"
                onClick={() => {
                  setApiKey("");
                  rememberApiKey(undefined);
                }}
              >
                Forget key
              </button>
            </>
          )}
        </form>
      </header>
      <main>
        {view === "overview" ? <Overview api={api} openNamespace={open} canPick={apiKey === ""} /> : null}
        {view === "keys" ? <Keys api={api} scope={scope} /> : null}
        {view === "locks" ? <Locks api={api} scope={scope} /> : null}
        {view === "commands" ? <Commands api={api} scope={scope} /> : null}
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root !== null) render(<App />, root);
