// A Node Lambda handler for the budget tests through the agent (test/budgets/agent.test.ts): moves the bytes the event
// asks for with fetch, then returns what it moved (or the error it met).
// event: { download?: url, upload?: { url, bytes } }
export const handler = async (event) => {
  const out = { moved: 0 };
  try {
    if (event.download) {
      const res = await fetch(event.download);
      for await (const chunk of res.body) out.moved += chunk.length;
    }
    if (event.upload) {
      const res = await fetch(event.upload.url, { method: 'POST', body: Buffer.alloc(event.upload.bytes, 0x75) });
      await res.text();
      out.moved = event.upload.bytes;
    }
  } catch (e) {
    out.error = e.cause?.code ?? e.code ?? String(e);
  }
  return out;
};
