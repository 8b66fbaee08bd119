// Callback style: (event, context, callback).
exports.handler = (event, context, callback) => {
  if (event.fail) {
    setTimeout(() => callback(Object.assign(new Error('callback failure'), { code: 'E_CB' })), 5);
    return;
  }
  setTimeout(() => callback(null, { form: 'callback', requestId: context.awsRequestId }), 5);
};
exports.syncThrow = (_event, _context, _callback) => {
  throw Object.assign(new Error('thrown synchronously'), { code: 'E_SYNC' });
};
// Declared with a callback but returns a promise: the runtime uses the promise.
exports.hybrid = async (_event, _context, _callback) => ({ form: 'hybrid' });
