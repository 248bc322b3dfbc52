// A fetch that keeps every raw exchange (retries and split calls included) without changing what
// the SDK using it does: the scripts print the exchanges for the C# tests to check. Streamed
// bodies are left to the SDK.
export function recordingFetch(exchanges) {
  return async (url, init) => {
    const response = await fetch(url, init);
    exchanges.push({
      url: String(url),
      method: init?.method ?? 'GET',
      requestHeaders: Object.fromEntries(new Headers(init?.headers ?? {})),
      requestBody: typeof init?.body === 'string' ? init.body : null,
      status: response.status,
      headers: Object.fromEntries(response.headers),
      // A stream is not read here: that would hand the SDK its response only once the stream ended.
      body: (response.headers.get('content-type') ?? '').includes('text/event-stream') ? '(stream)' : await response.clone().text(),
      at: Date.now(),
    });
    return response;
  };
}
