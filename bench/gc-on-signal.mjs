// Preloaded into the server by bench:sse (with --expose-gc): SIGUSR2 runs a full GC, so heap readings are live objects only.
process.on('SIGUSR2', () => globalThis.gc?.());
