import { ApiError } from "./errors.ts";

/**
 * Opaque page cursors for lists ordered by a time and an id: where a page ended, as base64url JSON, so
 * clients pass it back untouched. `timeField` names the time in the JSON (e.g. `failed_at`); a cursor that
 * does not decode to such an end is a 422 naming `cursor`.
 */
export function pageCursor<TimeField extends string>(timeField: TimeField) {
  type PageEnd = { [K in TimeField]: string } & { id: string };
  return {
    encode(end: PageEnd): string {
      return btoa(JSON.stringify(end)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    },
    decode(cursor: string): PageEnd {
      try {
        const end = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
        const at = end?.[timeField];
        if (
          typeof at === "string" && !Number.isNaN(Date.parse(at)) &&
          typeof end.id === "string" && /^[0-9a-f-]{36}$/i.test(end.id)
        ) {
          return end as PageEnd;
        }
      } catch {
        // Reported below.
      }
      throw new ApiError(422, "Not a cursor this endpoint returned", "cursor");
    },
  };
}
