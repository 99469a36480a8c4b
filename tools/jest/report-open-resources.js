// Jest's globalTeardown for the suites that run in band. Their tests ran in this process, so a
// timer, socket or child process still active here is one a test or the code under test left;
// Jest would wait for it for ever (a CI run once sat 80 minutes on a retried offset commit).
// Transient ones (a commit about to finish) get a few seconds; what stays is named, and Jest's
// forceExit ends the run.
const SETTLE_MS = 10_000;
const IGNORED = new Set(['TTYWrap', 'PipeWrap', 'FSReqCallback', 'FSReqPromise', 'Immediate']);

const leftovers = () => process.getActiveResourcesInfo().filter((type) => !IGNORED.has(type));

module.exports = async () => {
  const until = Date.now() + SETTLE_MS;
  while (leftovers().length > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 200).unref());
  const left = leftovers();
  if (left.length === 0) return;
  const counts = Object.entries(left.reduce((n, type) => ({ ...n, [type]: (n[type] ?? 0) + 1 }), {}));
  process.stderr.write(`\n[jest] LEAK: still active ${SETTLE_MS / 1000} s after the last test: ${counts.map(([type, n]) => `${n} × ${type}`).join(', ')}. Something a test started was never stopped; Jest exits anyway (forceExit).\n`);
};
