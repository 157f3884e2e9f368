/** Progress of a run: a bar on a terminal (cli-progress), plain lines otherwise (CI, pipes). */

export interface Progress {
  start(total: number, alreadyDone: number): void;
  tick(label: string): void;
  stop(): void;
}

export const silentProgress: Progress = { start() {}, tick() {}, stop() {} };

export async function progressFor(title: string, stream: NodeJS.WriteStream = process.stderr): Promise<Progress> {
  if (stream.isTTY) {
    // Loaded only for a terminal: pipes and CI get plain lines.
    const { default: cliProgress } = await import("cli-progress");
    const bar = new cliProgress.SingleBar(
      { format: `${title} [{bar}] {value}/{total} {label}`, stream, hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    return {
      start: (total, done) => bar.start(total, done, { label: "" }),
      tick: (label) => bar.increment(1, { label }),
      stop: () => bar.stop(),
    };
  }
  let done = 0;
  let total = 0;
  return {
    start(t, already) {
      total = t;
      done = already;
      stream.write(`${title}: ${total} runs${already > 0 ? `, ${already} already done (resumed)` : ""}\n`);
    },
    tick(label) {
      done++;
      stream.write(`${title}: ${done}/${total} ${label}\n`);
    },
    stop() {},
  };
}
