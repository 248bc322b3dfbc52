// The only way the console talks to the gateway: the public API with the signed-in key.
const KEY = 'igw.console.key';

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(value) { value ? sessionStorage.setItem(KEY, value) : sessionStorage.removeItem(KEY); },
};

/** An API failure with the gateway's error body (DESIGN §1.3) and the headers the UI explains. */
export class ApiError extends Error {
  constructor(status, body, headers) {
    const err = body && body.error;
    super((err && err.message) || (body && body.detail) || (status ? `The gateway answered HTTP ${status}.` : 'Could not reach the gateway.'));
    this.status = status;
    this.code = err && err.code;
    this.type = err && err.type;
    this.param = err && err.param;
    this.retryAfter = headers ? Number(headers.get('Retry-After')) || null : null;
  }
}

export async function api(path, options) {
  return readJson(await send(path, options));
}

/**
 * Sends like `api` (JSON or FormData body) but hands back the Response itself, for a streamed
 * answer. A non-2xx answer is still read and thrown as an ApiError.
 */
export function apiResponse(path, options) {
  return send(path, { accept: 'text/event-stream, application/json', ...options });
}

/** The ApiError of an `error` event in a stream: no HTTP status, so one is inferred from the error's type. */
export function streamError(data) {
  const err = (data && data.error) || {};
  const status = { invalid_request_error: 400, authentication_error: 401, insufficient_quota: 402, rate_limit_error: 429 }[err.type]
    || (err.code === 'no_provider' || err.code === 'service_busy' ? 503 : 502);
  return new ApiError(status, { error: err }, null);
}

async function send(path, { method = 'GET', body, key = session.key, signal, accept = 'application/json' } = {}) {
  const headers = { Accept: accept };
  if (key) headers.Authorization = `Bearer ${key}`;
  // FormData sets its own multipart Content-Type, boundary included.
  const form = body instanceof FormData;
  if (body !== undefined && !form) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined || form ? body : JSON.stringify(body), signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, null, null);
  }
  if (!response.ok) throw new ApiError(response.status, await readJson(response), response.headers);
  return response;
}

async function readJson(response) {
  const text = await response.text();
  try { return text ? JSON.parse(text) : null; } catch { return null; }
}

export const llm = (path) => `/api/v1/llm${path}`;
