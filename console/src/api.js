// The node's API as the console uses it: same origin, the session in an HttpOnly cookie the
// page never reads. Every failure carries the API's {"error": {"code", "message"}}.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function parse(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(response.status, 'not_json', text.slice(0, 200));
  }
  if (!response.ok) {
    const error = body?.error ?? { code: 'http_' + response.status, message: text.slice(0, 200) };
    throw new ApiError(response.status, error.code, error.message);
  }
  return body;
}

export async function get(path) {
  return parse(await fetch(path, { credentials: 'same-origin' }));
}

export async function post(path, body) {
  return parse(await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  }));
}

/** GET that answers null for 404 instead of throwing. */
export async function find(path) {
  try {
    return await get(path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}
