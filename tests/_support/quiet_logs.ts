/**
 * Preloaded by `deno task test` (`deno test --preload`): whatever a test prints (mostly the functions' JSON log
 * lines, errors and their stacks included, from the faults the tests cause on purpose) is kept, and shown only
 * when the test fails, so a passing run prints its test names and summary alone. `TEST_LOGS=all` shows
 * everything as it comes, as plain `deno test` does.
 */
type TestFn = (t: Deno.TestContext) => void | Promise<void>;

const METHODS = ["log", "error", "warn", "info", "debug"] as const;
const original = Deno.test;

function format(args: unknown[]): string {
  return args.map((arg) => typeof arg === "string" ? arg : Deno.inspect(arg, { colors: false })).join(" ");
}

/** Runs the test with console output kept aside; prints it if the test, or one of its steps, fails. */
function quiet(fn: TestFn): TestFn {
  const wrapped = async (t: Deno.TestContext) => {
    const saved = METHODS.map((method) => console[method]);
    const lines: string[] = [];
    for (const method of METHODS) console[method] = (...args: unknown[]) => lines.push(format(args));
    let stepFailed = false;
    const context = new Proxy(t, {
      get(target, property) {
        const value = Reflect.get(target, property);
        if (property !== "step") return typeof value === "function" ? value.bind(target) : value;
        return async (...args: Parameters<Deno.TestContext["step"]>) => {
          // deno-lint-ignore no-explicit-any
          const passed = await (target.step as any)(...args);
          if (!passed) stepFailed = true;
          return passed;
        };
      },
    });
    let failed = true;
    try {
      await fn(context);
      failed = stepFailed;
    } finally {
      METHODS.forEach((method, i) => console[method] = saved[i] as typeof console.log);
      if (failed && lines.length > 0) {
        console.error(`--- what "${t.name}" printed (${lines.length} lines) ---\n${lines.join("\n")}\n---`);
      }
    }
  };
  return Object.defineProperty(wrapped, "name", { value: fn.name });
}

if (Deno.env.get("TEST_LOGS") !== "all") {
  // Every form of Deno.test: (definition), (fn), (name, fn), (options, fn), (name, options, fn).
  const test = (...args: unknown[]) => {
    const last = args.length - 1;
    if (typeof args[last] === "function") {
      args[last] = quiet(args[last] as TestFn);
    } else {
      const definition = args[last] as Deno.TestDefinition;
      args[last] = { ...definition, fn: quiet(definition.fn) };
    }
    // deno-lint-ignore no-explicit-any
    return (original as any)(...args);
  };
  // Deno.test is declared read-only, yet assignable at run time.
  Reflect.set(Deno, "test", Object.assign(test, original));
}
