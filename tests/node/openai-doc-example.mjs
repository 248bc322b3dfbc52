// OpenAI's documentation example for gpt-image-2 with the npm `openai` client, as written: the
// client reads OPENAI_API_KEY and OPENAI_BASE_URL from the environment. Only the extra body fields
// (IGW_DOC.params, e.g. output_format or background) and where to save the image (IGW_DOC.out)
// come from the test. Prints one JSON line: what the buffer holds and the answer's shape.
import OpenAI from 'openai';
import fs from 'fs';

const { params = {}, out } = JSON.parse(process.env.IGW_DOC ?? '{}');
const client = new OpenAI();

try {
  const img = await client.images.generate({
    model: 'gpt-image-2',
    prompt: 'A children\'s book drawing of a veterinarian using a stethoscope to listen to the heartbeat of a baby otter.',
    n: 1,
    size: '1024x1024',
    ...params,
  });
  const imageBuffer = Buffer.from(img.data[0].b64_json, 'base64');
  fs.writeFileSync(out, imageBuffer);

  const { data, ...top } = img;
  console.log(JSON.stringify({
    ok: true,
    length: imageBuffer.length,
    magic: imageBuffer.subarray(0, 16).toString('hex'),
    top,
    items: data.map((item) => ({ keys: Object.keys(item), hasUrl: 'url' in item, b64Length: item.b64_json?.length ?? null })),
  }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: { class: err?.constructor?.name, status: err?.status ?? null, message: String(err?.message) } }));
}
