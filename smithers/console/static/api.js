// Calls of the documented HTTP API: JSON in and out, the token as a header, errors as thrown.
const TOKEN_KEY = "smithers.token";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let askForToken = null;

/** Called when the server answers 401: resolves once a new token was entered. */
export function onTokenNeeded(ask) {
  askForToken = ask;
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export function authHeaders(extra = {}) {
  const headers = { ...extra };
  const current = token();
  if (current) headers.authorization = `Bearer ${current}`;
  return headers;
}

/** A 401: forget the token and wait for the prompt to give another. */
export async function reauthenticate() {
  forgetToken();
  if (!askForToken) throw new ApiError(401, "UNAUTHORIZED", "a token is required");
  await askForToken();
}

/** ``method path`` with an optional JSON body; the decoded answer, or an ``ApiError``. */
export async function call(method, path, body) {
  for (;;) {
    const init = { method, headers: authHeaders(), cache: "no-store" };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.status === 401) {
      await reauthenticate();
      continue;
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        throw new ApiError(response.status, "BAD_ANSWER", `the server answered ${response.status} with no JSON`);
      }
    }
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(response.status, error.code || `HTTP_${response.status}`, error.message || response.statusText, error.details);
    }
    return data;
  }
}
