// `deno task kv COMMAND ...`: wires the CLI to the real process.

import { main } from "./cli.ts";
import { EXIT, type Io, type Writer } from "./io.ts";

function writerFor(file: { write(p: Uint8Array): Promise<number> }): Writer {
  return async (bytes) => {
    for (let offset = 0; offset < bytes.length;) offset += await file.write(bytes.subarray(offset));
  };
}

if (import.meta.main) {
  const interrupt = new AbortController();
  // The first Ctrl-C ends the command cleanly (watch exits 0); a second one exits at once.
  const onSigint = () => {
    if (interrupt.signal.aborted) Deno.exit(EXIT.interrupted);
    interrupt.abort();
  };
  Deno.addSignalListener("SIGINT", onSigint);
  const io: Io = {
    stdout: writerFor(Deno.stdout),
    stderr: writerFor(Deno.stderr),
    stdin: () => Deno.stdin.readable,
    stdoutIsTerminal: Deno.stdout.isTerminal(),
    env: (name) => Deno.env.get(name),
    signal: interrupt.signal,
  };
  let code: number;
  try {
    code = await main(Deno.args, io);
  } catch (err) {
    // `kv watch | head` closes our stdout: that is the reader's choice, not a failure.
    if (err instanceof Deno.errors.BrokenPipe) Deno.exit(EXIT.ok);
    throw err;
  }
  Deno.removeSignalListener("SIGINT", onSigint);
  Deno.exit(code);
}
