// Where the CLI writes: process streams in use, string collectors in tests.

/** A text sink: process.stdout / process.stderr, or anything with write(). */
export interface TextSink {
  write(chunk: string): unknown;
  /** A terminal: progress bars are drawn only there. */
  isTTY?: boolean;
  columns?: number;
}

export interface CliIO {
  out: TextSink;
  err: TextSink;
}

/** The process's own streams. @example await runCli(argv, processIO()); */
export function processIO(): CliIO {
  return { out: process.stdout, err: process.stderr };
}

/** Writes one line (a newline appended). @example println(io.out, 'done'); */
export function println(sink: TextSink, line = ''): void {
  sink.write(`${line}\n`);
}
