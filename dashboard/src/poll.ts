import { useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "./api.js";

/** What {@link usePoll} holds. */
export interface Polled<T> {
  readonly data: T | undefined;
  readonly error: string | undefined;
  /** Fetches now, out of turn (after a change the user made). */
  readonly refresh: () => void;
}

/**
 * Calls `load` now and then every `everyMs` while the tab is visible, one
 * call at a time: a slow server gets fewer calls, not a queue. A change of
 * `deps` starts over. Dashboards stay light: a view polls every few seconds,
 * and a hidden tab not at all.
 */
export function usePoll<T>(load: () => Promise<T>, everyMs: number, deps: readonly unknown[]): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const kick = useRef<() => void>(() => undefined);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    const tick = async (): Promise<void> => {
      clearTimeout(timer);
      if (stopped || running) return;
      if (document.visibilityState === "hidden") {
        timer = setTimeout(() => void tick(), everyMs);
        return;
      }
      running = true;
      try {
        const value = await load();
        if (!stopped) {
          setData(value);
          setError(undefined);
        }
      } catch (err) {
        if (!stopped) setError(describeError(err));
      } finally {
        running = false;
        if (!stopped) timer = setTimeout(() => void tick(), everyMs);
      }
    };
    kick.current = () => void tick();
    setData(undefined);
    setError(undefined);
    void tick();
    const onVisible = (): void => {
      if (document.visibilityState === "visible") void tick();
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, deps);
  return { data, error, refresh: () => kick.current() };
}

/** The current time, re-rendered every `everyMs` (countdowns). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}
