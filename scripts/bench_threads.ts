/**
 * The dispatcher benches' runner: `count` dispatchers, each in a thread of its own
 * (scripts/bench_dispatcher_thread.ts) with its own pool and connections, as separate dispatcher
 * processes would run; resolves with the seconds from "go" until every one has nothing left to do.
 */
export interface DispatcherThreadSetup {
  channel: "email" | "webhook";
  databaseUrl: string;
  /** The email channel's SMTP server. */
  smtpUrl?: string;
}

export async function timeDispatcherThreads(count: number, setup: DispatcherThreadSetup): Promise<number> {
  const workers = Array.from(
    { length: count },
    () => new Worker(new URL("./bench_dispatcher_thread.ts", import.meta.url), { type: "module" }),
  );
  const answer = (worker: Worker) =>
    new Promise<unknown>((resolve, reject) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
    });
  const tell = (message: unknown) =>
    Promise.all(workers.map((worker) => {
      const answered = answer(worker);
      worker.postMessage(message);
      return answered;
    }));
  try {
    // Connected and compiled before the clock starts.
    await tell(setup);
    const started = performance.now();
    await tell("go");
    return (performance.now() - started) / 1000;
  } finally {
    for (const worker of workers) worker.terminate();
  }
}
