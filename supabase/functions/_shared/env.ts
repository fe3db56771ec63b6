/** Settings parsers shared by config.ts and email/config.ts, so every setting reads and fails alike. */

export type Env = Record<string, string | undefined>;

/** A number setting: `fallback` when unset or empty, else at least `min` (and whole when `integer`). */
export function envNumber(
  env: Env,
  name: string,
  fallback: number,
  rule: { min: number; integer?: boolean },
): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < rule.min || (rule.integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be ${rule.integer ? "an integer" : "a number"} >= ${rule.min}`);
  }
  return value;
}

/** A yes/no setting: `true`/`1` or `false`/`0`; `fallback` when unset or empty. */
export function envBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  throw new Error(`${name} must be true, false, 1 or 0`);
}
