// The brief's JavaScript/TypeScript example (section 2) as written: only the host, the key and,
// for the error cases, body fields come from the environment (IGW_HOST, IGW_KEY, IGW_OVERRIDES).
// A failure is reported the way the brief's React example does: `Error: ${data.detail}`.
// The last line is the status and body as JSON, for the test to check.
const host = process.env.IGW_HOST;
const key = process.env.IGW_KEY;
const overrides = JSON.parse(process.env.IGW_OVERRIDES ?? '{}');

const response = await fetch(`${host}/api/v1/llm/image/generations`, {
  method: 'POST',
  headers: {
    'Authorization': `Bearer ${key}`,
    'Content-Type': 'application/json'
  },
  body: JSON.stringify({
    prompt: 'A majestic unicorn in a magical forest',
    model: 'dall-e-3',
    size: '1024x1024',
    quality: 'standard',
    ...overrides
  })
});

const data = await response.json();
if (response.ok) {
  console.log('Image:', data.data[0].url);
  console.log('Cost:', data._metadata.cost_incurred, 'credits');
} else {
  console.log(`Error: ${data.detail}`);
}
console.log(JSON.stringify({ status: response.status, headers: Object.fromEntries(response.headers), body: data }));
