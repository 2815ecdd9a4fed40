// A stand-in for a node in launcher tests: `deno run fake_node.ts <id> <mode>`.
// normal: waits for SIGTERM/SIGINT, says so, exits 0; crash: exits 3 at once;
// stubborn: ignores the signals (the launcher must SIGKILL it).

const [id, mode] = Deno.args;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(signal, () => {
    if (mode === "stubborn") return console.log(`ignoring ${signal}`);
    console.log(`got ${signal}`);
    Deno.exit(0);
  });
}
setInterval(() => {}, 1 << 30);
// Only now: tests send signals as soon as they read this line.
console.log(`ready pid=${Deno.pid} id=${id}`);
console.error("hello on stderr");
if (mode === "crash") Deno.exit(3);
