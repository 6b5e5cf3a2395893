/**
 * Progress reporting for long work: a cli-progress bar with ETA, loss and images/s when stderr is a
 * terminal; plain log lines (one per epoch, and every ~10 % of a long epoch) otherwise; nothing with
 * `quiet`.
 */
import cliProgress from "cli-progress";

export interface ProgressReporter {
  startEpoch(epoch: number, epochs: number, batches: number): void;
  batch(done: number, values: Record<string, number>, imagesPerSecond: number): void;
  endEpoch(summary: string): void;
  log(line: string): void;
  stop(): void;
}

function formatValues(values: Record<string, number>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k} ${Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(4) : v.toExponential(2)}`)
    .join("  ");
}

export function createProgress(options: { quiet?: boolean; stream?: NodeJS.WriteStream }): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  if (options.quiet) {
    return { startEpoch() {}, batch() {}, endEpoch() {}, log() {}, stop() {} };
  }
  if (!stream.isTTY) {
    let total = 0;
    let lastDecile = -1;
    let label = "";
    return {
      startEpoch(epoch, epochs, batches) {
        total = batches;
        lastDecile = -1;
        label = `epoch ${epoch + 1}/${epochs}`;
      },
      batch(done, values, ips) {
        const decile = Math.floor((10 * done) / Math.max(total, 1));
        if (total >= 50 && decile > lastDecile && done < total) {
          lastDecile = decile;
          stream.write(`${label} ${done}/${total}  ${formatValues(values)}  ${ips.toFixed(1)} img/s\n`);
        }
      },
      endEpoch(summary) {
        stream.write(`${label} done  ${summary}\n`);
      },
      log(line) {
        stream.write(`${line}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: "{label} |{bar}| {value}/{total} batches | ETA {eta_formatted} | {values} | {ips} img/s",
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let active = false;
  let label = "";
  return {
    startEpoch(epoch, epochs, batches) {
      label = `epoch ${epoch + 1}/${epochs}`;
      bar.start(batches, 0, { label, values: "", ips: "-" });
      active = true;
    },
    batch(done, values, ips) {
      bar.update(done, { label, values: formatValues(values), ips: ips.toFixed(1) });
    },
    endEpoch(summary) {
      if (active) bar.stop();
      active = false;
      stream.write(`${label}  ${summary}\n`);
    },
    log(line) {
      if (active) bar.stop();
      active = false;
      stream.write(`${line}\n`);
    },
    stop() {
      if (active) bar.stop();
      active = false;
    },
  };
}
