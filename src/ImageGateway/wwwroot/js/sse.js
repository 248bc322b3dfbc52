// Server-sent events over a fetch Response, as the gateway streams images (OpenAI's event shapes).

/**
 * Yields `{ event, data }` for each event of `response.body`, `data` parsed as JSON (the raw text
 * when it is not JSON). Lines may end in LF, CRLF or CR and chunks may split anything, even a
 * character; an event without an `event:` line is named by its JSON `type`; `data: [DONE]` ends
 * the stream. Leaving the loop early cancels the body.
 */
export async function* readEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let finished = false;
  let name = '';
  let data = [];
  try {
    while (!finished) {
      const { value, done } = await reader.read();
      finished = done;
      // What is left holds no line end (but perhaps a last CR), so only the new text is scanned: a long base64 line stays linear.
      const from = Math.max(0, buffer.length - 1);
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      const [lines, rest] = splitLines(buffer, from, done);
      buffer = rest;
      if (done) lines.push(rest, ''); // a last line or event without its line end
      for (const line of lines) {
        if (line === '') {
          const event = dispatch(name, data);
          name = '';
          data = [];
          if (event === DONE) return;
          if (event) yield event;
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let text = colon < 0 ? '' : line.slice(colon + 1);
          if (text.startsWith(' ')) text = text.slice(1);
          if (field === 'event') name = text;
          else if (field === 'data') data.push(text);
        }
      }
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

const DONE = Symbol('done');

function dispatch(name, lines) {
  if (!lines.length) return null;
  const text = lines.join('\n');
  if (text.trim() === '[DONE]') return DONE;
  let data;
  try { data = JSON.parse(text); } catch { data = text; }
  return { event: name || (data && typeof data === 'object' && data.type) || 'message', data };
}

/** The complete lines of `buffer` and what is left. A CR at the very end waits: an LF may follow in the next chunk. */
function splitLines(buffer, from, final) {
  const lines = [];
  let start = 0;
  for (let i = from; i < buffer.length; i++) {
    const c = buffer[i];
    if (c !== '\n' && c !== '\r') continue;
    if (c === '\r' && i === buffer.length - 1 && !final) break;
    lines.push(buffer.slice(start, i));
    if (c === '\r' && buffer[i + 1] === '\n') i++;
    start = i + 1;
  }
  return [lines, buffer.slice(start)];
}
