// One images.generate call (or, with `model` set, one models.retrieve call) with the official npm
// `openai` client, configured from IGW_CASE (JSON: baseURL, apiKey, maxRetries, params, model). A recording fetch keeps every raw exchange (retries
// included) without changing what the SDK does. Prints one JSON line: the result or the error as
// the SDK surfaced it, plus the exchanges.
import OpenAI from 'openai';
import { recordingFetch } from './recording-fetch.mjs';

const config = JSON.parse(process.env.IGW_CASE);
const exchanges = [];

const client = new OpenAI({
  apiKey: config.apiKey,
  baseURL: config.baseURL,
  maxRetries: config.maxRetries ?? 2,
  timeout: 30_000,
  fetch: recordingFetch(exchanges),
});

const started = Date.now();
let outcome;
try {
  const { data, response } = config.model
    ? await client.models.retrieve(config.model).withResponse()
    : await client.images.generate(config.params).withResponse();
  outcome = { ok: true, status: response.status, result: data };
} catch (err) {
  outcome = {
    ok: false,
    error: {
      class: err?.constructor?.name,
      isApiError: err instanceof OpenAI.APIError,
      isAuthenticationError: err instanceof OpenAI.AuthenticationError,
      isBadRequestError: err instanceof OpenAI.BadRequestError,
      isRateLimitError: err instanceof OpenAI.RateLimitError,
      isInternalServerError: err instanceof OpenAI.InternalServerError,
      status: err?.status ?? null,
      message: String(err?.message),
      code: err?.code ?? null,
      type: err?.type ?? null,
      param: err?.param ?? null,
      requestID: err?.requestID ?? null,
    },
  };
}
console.log(JSON.stringify({ ...outcome, elapsedMs: Date.now() - started, exchanges }));
