import { Workspace } from '../../src/workspace/workspace';

/**
 * Workspace.exclusive / shared: jobs (builds, loads) run alone and in arrival order; real-time passes
 * run one at a time beside sync runs' steps; a waiting job holds back new passes and steps.
 */
describe('workspace scheduling of warehouse work', () => {
  // the scheduler needs none of the workspace's parts
  const workspace = () => new (Workspace as unknown as new (...args: unknown[]) => Workspace)({}, {}, {});

  /** Work that records when it starts and ends, and ends when released. */
  function work(log: string[], name: string) {
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    return {
      run: async () => {
        log.push(`start ${name}`);
        await done;
        log.push(`end ${name}`);
        return name;
      },
      release,
    };
  }
  const tick = () => new Promise((r) => setImmediate(r));

  it('runs sync steps beside a real-time pass', async () => {
    const ws = workspace();
    const log: string[] = [];
    const pass = work(log, 'pass');
    const step = work(log, 'step');
    const p = ws.exclusive(pass.run, { background: true });
    const s = ws.shared(step.run);
    await tick();
    expect(log).toEqual(['start pass', 'start step']);
    step.release();
    await expect(s).resolves.toBe('step');
    // a step that comes while the pass runs starts at once; the next pass does not wait for it
    const step2 = work(log, 'step2');
    const s2 = ws.shared(step2.run);
    await tick();
    pass.release();
    await p;
    const pass2 = work(log, 'pass2');
    const p2 = ws.exclusive(pass2.run, { background: true });
    await tick();
    expect(log).toEqual(['start pass', 'start step', 'end step', 'start step2', 'end pass', 'start pass2']);
    step2.release();
    pass2.release();
    await Promise.all([s2, p2]);
  });

  it('runs passes one at a time', async () => {
    const ws = workspace();
    const log: string[] = [];
    const a = work(log, 'a');
    const b = work(log, 'b');
    const pa = ws.exclusive(a.run, { background: true });
    const pb = ws.exclusive(b.run, { background: true });
    await tick();
    expect(log).toEqual(['start a']);
    a.release();
    await pa;
    await tick();
    expect(log).toEqual(['start a', 'end a', 'start b']);
    b.release();
    await pb;
  });

  it('runs a job alone: it waits for the pass and steps running, and holds back the passes and steps that come after it', async () => {
    const ws = workspace();
    const log: string[] = [];
    const pass = work(log, 'pass');
    const step = work(log, 'step');
    const job = work(log, 'job');
    const later = work(log, 'later step');
    const laterPass = work(log, 'later pass');
    const p = ws.exclusive(pass.run, { background: true });
    const s = ws.shared(step.run);
    const j = ws.exclusive(job.run);
    const l = ws.shared(later.run);
    const lp = ws.exclusive(laterPass.run, { background: true });
    await tick();
    expect(log).toEqual(['start pass', 'start step']);
    pass.release();
    await p;
    await tick();
    expect(log).not.toContain('start job');
    step.release();
    await s;
    await tick();
    expect(log).toEqual(['start pass', 'start step', 'end pass', 'end step', 'start job']);
    job.release();
    await j;
    await tick();
    expect(log.slice(5)).toEqual(['end job', 'start later step', 'start later pass']);
    later.release();
    laterPass.release();
    await Promise.all([l, lp]);
  });

  it('runs jobs one at a time in arrival order, before a waiting pass', async () => {
    const ws = workspace();
    const log: string[] = [];
    const first = work(log, 'first');
    const pass = work(log, 'pass');
    const second = work(log, 'second');
    const f = ws.exclusive(first.run);
    const p = ws.exclusive(pass.run, { background: true });
    const s = ws.exclusive(second.run);
    await tick();
    expect(log).toEqual(['start first']);
    first.release();
    await f;
    await tick();
    expect(log).toEqual(['start first', 'end first', 'start second']);
    second.release();
    await s;
    await tick();
    expect(log.at(-1)).toBe('start pass');
    pass.release();
    await p;
  });

  it('passes a failure to the caller and goes on with the next work', async () => {
    const ws = workspace();
    await expect(ws.shared(() => Promise.reject(new Error('step failed')))).rejects.toThrow('step failed');
    await expect(ws.exclusive(() => Promise.reject(new Error('job failed')))).rejects.toThrow('job failed');
    await expect(ws.exclusive(async () => 'ok')).resolves.toBe('ok');
    await expect(ws.exclusive(async () => 'pass', { background: true })).resolves.toBe('pass');
  });
});
