// The CLI's entry point as a function: argv and injected I/O in, exit code out.

import { type Command, HELP, parseCommandLine } from "./args.ts";
import { Client, type ClientOptions } from "./client.ts";
import { complain, EXIT, type Io, print } from "./io.ts";
import { del, get, put } from "./kv_commands.ts";
import { list } from "./list.ts";
import { status } from "./status.ts";
import { watch } from "./watch.ts";

export async function main(argv: string[], io: Io, options: ClientOptions = {}): Promise<number> {
  const parsed = parseCommandLine(argv, io.env);
  switch (parsed.type) {
    case "usage":
      await complain(io, parsed.message);
      return EXIT.usage;
    case "run":
      if (parsed.command.type === "help") {
        await print(io.stdout, HELP);
        return EXIT.ok;
      }
      return await run(io, new Client(parsed.endpoints, io, options), parsed.command);
  }
}

function run(io: Io, client: Client, c: Exclude<Command, { type: "help" }>): Promise<number> {
  switch (c.type) {
    case "get":
      return get(io, client, c);
    case "put":
      return put(io, client, c);
    case "del":
      return del(io, client, c);
    case "list":
      return list(io, client, c);
    case "watch":
      return watch(io, client, c);
    case "status":
      return status(io, client, c);
  }
}
