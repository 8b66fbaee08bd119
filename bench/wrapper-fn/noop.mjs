// The function the wrapper benchmark invokes: does nothing, so the wrapper's own cost is what is measured.
export const handler = async (event) => ({ ok: true, n: event.n });
