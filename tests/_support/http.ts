/** Calls a function over real HTTP and returns its status, headers and parsed body. */
// Tests read arbitrary JSON replies.
// deno-lint-ignore no-explicit-any
export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

// deno-lint-ignore no-explicit-any
export async function callFunction<T = any>(
  functionsUrl: string,
  name: string,
  options: {
    body?: unknown;
    rawBody?: string;
    token?: string;
    method?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(`${functionsUrl}/${name}`, {
    method: options.method ?? "POST",
    headers,
    body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: tests look at the text.
  }
  return { status: res.status, headers: res.headers, body: body as T };
}

/** The interview_token query parameter of an interview URL. */
export function tokenOf(interviewUrl: string): string {
  return new URL(interviewUrl).searchParams.get("interview_token")!;
}
