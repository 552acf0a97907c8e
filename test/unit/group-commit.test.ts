import { BufferFullError, GroupCommitWriter } from '../../src/ingest/group-commit';

const deferred = () => {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
};

describe('GroupCommitWriter', () => {
  it('writes what arrives together in one flush, and what arrives during a flush in the next', async () => {
    const writes: unknown[][][] = [];
    let gate = deferred();
    const writer = new GroupCommitWriter(async (rows) => {
      writes.push(rows);
      await gate.promise;
    }, 1000);
    const first = [writer.submit([[1]]), writer.submit([[2]])];
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual([[[1], [2]]]);
    const second = [writer.submit([[3]]), writer.submit([[4], [5]])]; // arrive while the first flush commits
    expect(writes).toHaveLength(1);
    gate.resolve();
    gate = deferred();
    await Promise.all(first);
    await new Promise((r) => setImmediate(r));
    expect(writes[1]).toEqual([[3], [4], [5]]);
    gate.resolve();
    await Promise.all(second);
  });

  it('answers only after the write has finished', async () => {
    const gate = deferred();
    const writer = new GroupCommitWriter(() => gate.promise, 1000);
    let done = false;
    const p = writer.submit([[1]]).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    gate.resolve();
    await p;
    expect(done).toBe(true);
  });

  it('when a group fails, writes each request alone so one bad row fails only its own request', async () => {
    const committed: unknown[] = [];
    const writer = new GroupCommitWriter(async (rows) => {
      if (rows.some((r) => r[0] === 'bad')) throw new Error('bad row');
      committed.push(...rows.map((r) => r[0]));
    }, 1000);
    const results = await Promise.allSettled([writer.submit([['a']]), writer.submit([['bad']]), writer.submit([['b'], ['c']])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(committed.sort()).toEqual(['a', 'b', 'c']);
  });

  it('refuses with BufferFullError (retry after 1 s) when too many rows wait, and takes rows again once drained', async () => {
    const gate = deferred();
    const writer = new GroupCommitWriter(() => gate.promise, 3);
    const inFlight = writer.submit([[1]]);
    await new Promise((r) => setImmediate(r)); // the first flush holds the only slot
    const waiting = writer.submit([[2], [3]]);
    await expect(writer.submit([[4], [5]])).rejects.toBeInstanceOf(BufferFullError);
    await expect(writer.submit([[4], [5]])).rejects.toMatchObject({ retryAfterSeconds: 1, code: 'INGEST_BUSY' });
    gate.resolve();
    await Promise.all([inFlight, waiting]);
    await expect(writer.submit([[6], [7]])).resolves.toBeUndefined();
  });

  it('close() waits for everything submitted, then refuses new rows', async () => {
    const committed: unknown[] = [];
    const writer = new GroupCommitWriter(async (rows) => {
      await new Promise((r) => setTimeout(r, 10));
      committed.push(...rows.map((r) => r[0]));
    }, 1000, 2);
    const submitted = [writer.submit([[1]]), writer.submit([[2]])];
    await writer.close();
    expect(committed.sort()).toEqual([1, 2]);
    await Promise.all(submitted);
    await expect(writer.submit([[3]])).rejects.toBeInstanceOf(BufferFullError);
  });
});
