/**
 * Reads the JSON config that the bench passes as a child script's only
 * argument. Children are started by the bench, never by people, so a bad
 * argument is a bench bug and fails loudly.
 */
export function childConfig<T>(): T {
  const arg = process.argv[2];
  if (arg === undefined) throw new Error(`usage: node ${process.argv[1] ?? "script"} '<json config>'`);
  return JSON.parse(arg) as T;
}

/** Prints the line the bench waits for, then keeps the process alive until SIGTERM. */
export function announceReady(port: number, close: () => void): void {
  process.stdout.write(JSON.stringify({ ready: true, port }) + "\n");
  process.once("SIGTERM", () => {
    close();
    process.exit(0);
  });
}
