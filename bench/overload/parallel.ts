/**
 * Runs the overload suite on several cores with the results of a serial run.
 *
 * Every simulation is a job: one seed of one labelled run (`perSeed` in common.ts), deterministic given its label and
 * seed. Each process (the main one and `--jobs` − 1 forked workers) runs the same scenario code, so all of them see
 * the same jobs in the same order and number them alike; job `i` of seed `s` belongs to process 0 (the main one)
 * when `s` is the first seed, whose runs the scenarios keep for their charts, and to process `i mod P` otherwise. A
 * worker simulates only its own jobs (the others return NaN, which only its discarded copy of the report sees) and
 * sends each result to the main process, which simulates its own and waits for the rest. A job a worker sends under
 * another label than the main process expects means the scenario code took another path in the two processes, and
 * stops the run rather than mix results.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { JobRunner } from './scenarios/common.js';

interface JobMessage {
  index: number;
  label: string;
  values: Record<string, number>;
}

const owner = (index: number, seed: number, first: number, processes: number): number => (seed === first ? 0 : index % processes);

/** Values of a job this process does not run: NaN for every key asked. */
const NOT_MINE: Record<string, number> = new Proxy({}, { get: () => NaN, ownKeys: () => [] });

/** The runner of a forked worker: runs its jobs and sends their results to the parent. */
export function workerRunner(me: number, processes: number, firstSeed: number): JobRunner {
  let next = 0;
  return {
    async run(label, seed, fn) {
      const index = next++;
      if (owner(index, seed, firstSeed, processes) !== me) return NOT_MINE;
      const values = await fn();
      await new Promise<void>((resolve, reject) => process.send!({ index, label, values } satisfies JobMessage, (e: Error | null) => (e ? reject(e) : resolve())));
      return values;
    },
  };
}

/** The main process's runner, forking `processes − 1` workers that run `script` with `args` and `--worker k`. */
export function mainRunner(script: string, args: string[], processes: number, firstSeed: number): { runner: JobRunner; close: () => void } {
  const results = new Map<number, JobMessage>();
  const waiting = new Map<number, (m: JobMessage) => void>();
  const children: ChildProcess[] = [];
  let failed: Error | undefined;
  let closed = false;
  const fail = (e: Error): void => {
    if (closed) return;
    failed ??= e;
    for (const w of waiting.values()) w({ index: -1, label: '', values: {} });
  };
  for (let k = 1; k < processes; k++) {
    const child = fork(script, [...args, '--worker', String(k), '--jobs', String(processes)], { execArgv: process.execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
    child.on('message', (m: JobMessage) => {
      const w = waiting.get(m.index);
      if (w === undefined) results.set(m.index, m);
      else {
        waiting.delete(m.index);
        w(m);
      }
    });
    child.on('exit', (code) => {
      if (code !== 0) fail(new Error(`overload worker ${k} exited with code ${code}`));
    });
    children.push(child);
  }
  let next = 0;
  const runner: JobRunner = {
    async run(label, seed, fn) {
      const index = next++;
      if (owner(index, seed, firstSeed, processes) === 0) return fn();
      if (failed !== undefined) throw failed;
      const m = results.get(index) ?? (await new Promise<JobMessage>((resolve) => waiting.set(index, resolve)));
      results.delete(index);
      if (failed !== undefined) throw failed;
      if (m.label !== label || m.index !== index) throw new Error(`parallel overload run diverged at job ${index}: the main process ran "${label}", a worker "${m.label}"`);
      return m.values;
    },
  };
  return {
    runner,
    close: () => {
      closed = true;
      for (const c of children) c.kill();
    },
  };
}
