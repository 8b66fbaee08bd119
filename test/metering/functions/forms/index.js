// CommonJS (no package.json "type" here): async handler, and a nested export.
exports.handler = async (event, context) => ({ form: 'cjs-js', requestId: context.awsRequestId, echo: event.n });
exports.handlers = { main: async () => ({ form: 'nested' }) };
exports.notAFunction = 42;
