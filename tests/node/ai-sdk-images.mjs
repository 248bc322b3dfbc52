// One generateImage call with the Vercel AI SDK (`ai` 6.x, `@ai-sdk/openai` 3.x), configured from
// IGW_CASE (JSON: baseURL, apiKey, model, prompt, images (file paths, for an edit), n, size,
// providerOptions, maxRetries). A
// recording fetch keeps every raw exchange (the SDK may split n into several calls, in parallel)
// without changing what the SDK does. Prints one JSON line: the images as the SDK surfaced them (or
// the error), its warnings and providerMetadata, plus the exchanges.
import fs from 'node:fs';
import { generateImage } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { recordingFetch } from './recording-fetch.mjs';

const config = JSON.parse(process.env.IGW_CASE);
const exchanges = [];

const openai = createOpenAI({ baseURL: config.baseURL, apiKey: config.apiKey, fetch: recordingFetch(exchanges) });

/** The SDK's error and, for a RetryError, the last attempt's, with what an APICallError carries. */
function describe(err) {
  if (err == null) return null;
  return {
    class: err.constructor?.name ?? null,
    name: err.name ?? null,
    message: String(err.message),
    statusCode: err.statusCode ?? null,
    responseBody: err.responseBody ?? null,
    url: err.url ?? null,
    isRetryable: err.isRetryable ?? null,
    reason: err.reason ?? null,
    cause: err.cause ? String(err.cause?.message ?? err.cause) : null,
    lastError: err.lastError ? describe(err.lastError) : null,
  };
}

const started = Date.now();
let outcome;
try {
  const result = await generateImage({
    model: openai.image(config.model),
    // With image files the prompt is {text, images}: the SDK then posts to /images/edits.
    prompt: config.images ? { text: config.prompt, images: config.images.map((path) => new Uint8Array(fs.readFileSync(path))) } : config.prompt,
    n: config.n ?? 1,
    size: config.size,
    providerOptions: config.providerOptions,
    maxRetries: config.maxRetries ?? 2,
  });
  outcome = {
    ok: true,
    images: result.images.map((image) => ({
      mediaType: image.mediaType,
      bytes: image.uint8Array.length,
      base64Length: image.base64.length,
      magic: Buffer.from(image.uint8Array.subarray(0, 16)).toString('hex'),
      base64: image.base64,
    })),
    warnings: result.warnings,
    providerMetadata: result.providerMetadata,
    usage: result.usage,
    responses: result.responses.map((r) => ({ modelId: r.modelId })),
  };
} catch (err) {
  outcome = { ok: false, error: describe(err) };
}
console.log(JSON.stringify({ ...outcome, elapsedMs: Date.now() - started, exchanges }));
