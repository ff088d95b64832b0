// Progress lines for long commands, on stderr so stdout stays clean for what a command prints.
export interface Progress {
  step<T>(label: string, fn: () => Promise<T>, detail?: (result: T) => string | undefined): Promise<T>;
  info(line: string): void;
}

export function progress(out: NodeJS.WritableStream = process.stderr, quiet = false): Progress {
  const write = (s: string) => {
    if (!quiet) out.write(s);
  };
  return {
    async step(label, fn, detail) {
      const t0 = performance.now();
      try {
        const r = await fn();
        const d = detail?.(r);
        write(`  ✓ ${label}${d ? `: ${d}` : ''} (${Math.round(performance.now() - t0)} ms)\n`);
        return r;
      } catch (err) {
        write(`  ✗ ${label}: ${err instanceof Error ? err.message : String(err)}\n`);
        throw err;
      }
    },
    info(line) {
      write(`${line}\n`);
    },
  };
}
