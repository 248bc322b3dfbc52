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

export async function api(path, { method = 'GET', body, key = session.key, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, null, null);
  }
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!response.ok) throw new ApiError(response.status, json, response.headers);
  return json;
}

export const llm = (path) => `/api/v1/llm${path}`;
