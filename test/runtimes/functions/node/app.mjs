// The runtime matrix's Node.js function (test/runtimes/support/matrix.ts has the contract): event
// {"urls": [...], "probe": [...]} → GET every url with fetch (an error fails the invoke), GET every probe ignoring
// errors → {"bytes": N}, the sum of the url bodies.
export const handler = async (event) => {
  let bytes = 0;
  for (const url of event.urls ?? []) {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    bytes += (await res.arrayBuffer()).byteLength;
  }
  for (const url of event.probe ?? []) {
    await fetch(url).catch(() => undefined); // a denied destination: the error is the expected outcome
  }
  return { bytes };
};
