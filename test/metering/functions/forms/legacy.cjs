// Callback style: (event, context, callback).
exports.handler = (event, context, callback) => {
  if (event.fail) {
    setTimeout(() => callback(Object.assign(new Error('callback failure'), { code: 'E_CB' })), 5);
    return;
  }
  setTimeout(() => callback(null, { form: 'callback', requestId: context.awsRequestId }), 5);
};
exports.syncThrow = (event, context, callback) => {
  throw Object.assign(new Error('thrown synchronously'), { code: 'E_SYNC' });
};
// Declared with a callback but returns a promise: the runtime uses the promise.
exports.hybrid = async (event, context, callback) => ({ form: 'hybrid' });
