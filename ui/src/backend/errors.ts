/**
 * The errors the Rust side sends as `{ code, message }` (STYLE.md §2), and the one
 * class every backend call throws.
 *
 * The UI branches on `code`, never on the wording of `message`; `message` is a
 * sentence meant for people and is shown as it is.
 */

/** Every code the desktop shell sends; the same union as src-tauri's error type. */
export const ERROR_CODES = [
  "signed_out",
  "forbidden",
  "invalid",
  "conflict",
  "not_found",
  "offline",
  "unavailable",
  "unknown",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error as it crosses the IPC boundary. */
export interface AppErrorData {
  code: ErrorCode;
  message: string;
  /** The input field at fault, for `invalid`. */
  field?: string | null;
  /** The missing permission, for `forbidden`. */
  scope?: string | null;
}

const GENERIC = "Something went wrong. Please try again.";

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

/** Whether `value` has the shape of an {@link AppErrorData}. */
export function isAppErrorData(value: unknown): value is AppErrorData {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return isErrorCode(v.code) && typeof v.message === "string";
}

/** The single error class the front end deals with. */
export class AppError extends Error implements AppErrorData {
  readonly code: ErrorCode;
  readonly field: string | null;
  readonly scope: string | null;

  constructor(data: AppErrorData) {
    super(data.message.trim() === "" ? GENERIC : data.message);
    this.name = "AppError";
    this.code = data.code;
    this.field = data.field ?? null;
    this.scope = data.scope ?? null;
  }

  /**
   * Turns whatever a failed call produced into an AppError: an `AppErrorData`
   * keeps its code; a bare string (Tauri's own failures, e.g. an unknown command)
   * or an Error becomes `unknown` with its text; anything else a generic sentence.
   */
  static from(value: unknown): AppError {
    if (value instanceof AppError) return value;
    if (isAppErrorData(value)) return new AppError(value);
    if (typeof value === "string" && value.trim() !== "") {
      return new AppError({ code: "unknown", message: value });
    }
    if (value instanceof Error && value.message.trim() !== "") {
      return new AppError({ code: "unknown", message: value.message });
    }
    return new AppError({ code: "unknown", message: GENERIC });
  }

  /** The plain data, e.g. for a decision outcome. */
  toData(): AppErrorData {
    return { code: this.code, message: this.message, field: this.field, scope: this.scope };
  }
}

/**
 * The sentence to show a person for a failed action. `forbidden` is said plainly,
 * naming the permission when the server named one; the rest show the message the
 * Rust side wrote for people.
 */
export function describeError(error: AppErrorData): string {
  if (error.code === "forbidden") {
    return error.scope
      ? `Not allowed: this needs the ${error.scope} permission, which your sign-in does not have.`
      : `Not allowed: ${error.message}`;
  }
  return error.message;
}
