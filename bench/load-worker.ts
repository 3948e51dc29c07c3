import autocannon from 'autocannon';

// The load generator runs in a process of its own so it does not share an event loop (or
// a core) with the app under test. autocannon behaves differently inside worker threads,
// hence a child process rather than a worker.
process.once('message', (options: autocannon.Options) => {
  autocannon(options, (error, result) => {
    if (error) throw error;
    process.send?.(
      {
        requests: result.requests.total / result.duration,
        p50: result.latency.p50,
        p99: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
      },
      () => process.exit(0),
    );
  });
});
