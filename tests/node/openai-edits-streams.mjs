// One images.edit call, or one streamed images.generate / images.edit call, with the official npm
// `openai` client, configured from IGW_CASE (JSON: baseURL, apiKey, mode = edit | stream-generate |
// stream-edit, params, images: [file paths], mask: file path). Streams are read with the SDK's own
// `for await`, recording each event as it arrives. Prints one JSON line: the result or the events
// (base64 kept), or the error as the SDK surfaced it, plus the raw exchanges.
import fs from 'node:fs';
import OpenAI, { toFile } from 'openai';
import { recordingFetch } from './recording-fetch.mjs';

const config = JSON.parse(process.env.IGW_CASE);
const exchanges = [];
const client = new OpenAI({ apiKey: config.apiKey, baseURL: config.baseURL, maxRetries: 0, timeout: 60_000, fetch: recordingFetch(exchanges) });

const file = (path) => toFile(fs.readFileSync(path), path.split('/').pop(), { type: 'image/png' });
const params = { ...config.params };
if (config.images) params.image = await Promise.all(config.images.map(file));
if (config.mask) params.mask = await file(config.mask);

let outcome;
try {
  if (config.mode === 'edit') {
    outcome = { ok: true, result: await client.images.edit(params) };
  } else {
    const started = Date.now();
    const stream = config.mode === 'stream-edit'
      ? await client.images.edit({ ...params, stream: true })
      : await client.images.generate({ ...params, stream: true });
    const events = [];
    for await (const event of stream) events.push({ ...event, receivedMs: Date.now() - started });
    outcome = { ok: true, events };
  }
} catch (err) {
  outcome = { ok: false, error: { class: err?.constructor?.name, isApiError: err instanceof OpenAI.APIError, status: err?.status ?? null,
    message: String(err?.message), code: err?.code ?? null, type: err?.type ?? null } };
}
console.log(JSON.stringify({ ...outcome, exchanges: exchanges.map(({ body, ...rest }) => ({ ...rest, bodyLength: body.length })) }));
