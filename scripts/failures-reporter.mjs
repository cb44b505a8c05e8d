// A node:test reporter for `npm run test:repeat`: one JSON line per failed test (not the suites or
// files that fail only because a test inside them did), written to the reporter's destination.
export default async function* failures(source) {
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    const { name, file, details } = event.data;
    const error = details?.error;
    if (error?.failureType === 'subtestsFailed') continue;
    const cause = error?.cause ?? error;
    const message = cause instanceof Error ? cause.message : String(cause?.message ?? cause);
    yield `${JSON.stringify({ file, name, failureType: error?.failureType, message: message.split('\n').slice(0, 6).join('\n') })}\n`;
  }
}
